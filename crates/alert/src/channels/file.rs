//! JSON lines appended to a local file.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;

use super::{Channel, ChannelSpec, Notification};

/// Appends one JSON line per alert (the [`Notification`] as is) to a file.
#[derive(Debug)]
pub struct FileChannel {
    path: PathBuf,
}

impl FileChannel {
    /// Takes the path from the spec; the file is created at the first send (its directory
    /// must exist).
    pub fn new(spec: &ChannelSpec) -> Result<Self, String> {
        let ChannelSpec::File { path } = spec else {
            return Err(format!("not a file channel: {}", spec.kind()));
        };
        if path.as_os_str().is_empty() {
            return Err("file channel: the path is empty".into());
        }
        Ok(Self { path: path.clone() })
    }
}

impl Channel for FileChannel {
    fn send(&mut self, batch: &[Notification]) -> Result<(), String> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut lines = Vec::new();
        for n in batch {
            serde_json::to_writer(&mut lines, n).map_err(|e| {
                format!("file {}: cannot serialize alert: {e}", self.path.display())
            })?;
            lines.push(b'\n');
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| format!("file {}: cannot open: {e}", self.path.display()))?;
        file.write_all(&lines)
            .and_then(|()| file.flush())
            .and_then(|()| file.sync_data())
            .map_err(|e| format!("file {}: write failed: {e}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notification(id: i64) -> Notification {
        crate::channels::sample(id, 2, &format!("ET TEST {id}"))
    }

    #[test]
    fn appends_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.jsonl");
        let mut ch = FileChannel::new(&ChannelSpec::File { path: path.clone() }).unwrap();
        ch.send(&[notification(1), notification(2)]).unwrap();
        ch.send(&[notification(3)]).unwrap();
        ch.send(&[]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let parsed: Vec<Notification> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            parsed,
            vec![notification(1), notification(2), notification(3)]
        );
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn missing_directory_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("alerts.jsonl");
        let mut ch = FileChannel::new(&ChannelSpec::File { path: path.clone() }).unwrap();
        let err = ch.send(&[notification(1)]).unwrap_err();
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(!path.parent().unwrap().exists());
    }

    #[test]
    fn rejects_other_specs() {
        let spec = ChannelSpec::Syslog {
            address: "127.0.0.1:514".into(),
            transport: Default::default(),
            format: Default::default(),
            facility: "user".into(),
            app_name: "nta".into(),
        };
        assert!(FileChannel::new(&spec).is_err());
        assert!(FileChannel::new(&ChannelSpec::File {
            path: PathBuf::new()
        })
        .is_err());
    }
}
