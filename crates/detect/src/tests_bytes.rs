//! byte_test, byte_jump, byte_extract and the number readers.

use crate::bytes::{read_binary, read_number, read_start, read_text};
use crate::tests_util::{hit, try_prog};
use crate::Vars;

#[test]
fn binary_numbers() {
    assert_eq!(read_binary(&[0x01, 0x02], true), 0x0102);
    assert_eq!(read_binary(&[0x01, 0x02], false), 0x0201);
    assert_eq!(read_binary(&[], true), 0);
    assert_eq!(read_binary(&[0xff; 8], true), u64::MAX);
    assert_eq!(
        read_binary(&[1, 2, 3, 4, 5, 6, 7, 8], false),
        0x0807_0605_0403_0201
    );
}

#[test]
fn text_numbers_like_strtoull() {
    assert_eq!(read_text(b"1337", 10), Some((1337, 4)));
    assert_eq!(read_text(b" 12ab", 10), Some((12, 3)));
    assert_eq!(read_text(b"\t+7", 10), Some((7, 3)));
    assert_eq!(read_text(b"-1", 10), Some((u64::MAX, 2)));
    assert_eq!(read_text(b"0x1f", 16), Some((31, 4)));
    assert_eq!(read_text(b"1F", 16), Some((31, 2)));
    // "0x" without a hex digit after it: the 0 alone.
    assert_eq!(read_text(b"0xg", 16), Some((0, 1)));
    assert_eq!(read_text(b"017", 8), Some((15, 3)));
    assert_eq!(read_text(b"018", 8), Some((1, 2)));
    assert_eq!(read_text(b"", 10), None);
    assert_eq!(read_text(b"  ", 10), None);
    assert_eq!(read_text(b"-", 10), None);
    assert_eq!(read_text(b"abc", 10), None);
    assert_eq!(read_text(b"18446744073709551615", 10), Some((u64::MAX, 20)));
    assert_eq!(read_text(b"18446744073709551616", 10), None);
    assert_eq!(
        read_text(b"01777777777777777777777", 8),
        Some((u64::MAX, 23))
    );
    // A NUL ends the number, as it ends C's string.
    assert_eq!(read_text(b"12\x003", 10), Some((12, 2)));
}

#[test]
fn read_positions() {
    // Absolute: offset from the start; relative: from the cursor.
    assert_eq!(read_start(10, 0, 2, false, 4, true), Some(2));
    assert_eq!(read_start(10, 5, 2, true, 3, true), Some(7));
    assert_eq!(read_start(10, 5, 2, true, 4, true), None);
    assert_eq!(read_start(10, 5, -5, true, 4, true), Some(0));
    assert_eq!(read_start(10, 5, -6, true, 1, true), None);
    assert_eq!(read_start(10, 0, -1, false, 1, true), None);
    assert_eq!(read_start(0, 0, 0, false, 0, true), None);
    // Relative with nothing left: fails, unless nothing is read and the check is off.
    assert_eq!(read_start(10, 10, 0, true, 0, true), None);
    assert_eq!(read_start(10, 10, 0, true, 0, false), Some(10));
    assert_eq!(read_start(10, 0, i32::MAX, false, 1, true), None);
    assert_eq!(read_start(10, u32::MAX, i32::MAX, true, 1, true), None);
    assert_eq!(read_number(b"12", 0, 0, Some(10), true), Some((12, 2)));
    assert_eq!(read_number(b"12", 3, 1, None, true), None);
}

#[test]
fn byte_test_operators() {
    let b = b"\x00\x01\x00\x02\x00\x03";
    assert!(hit("byte_test:2,=,0x01,0;", b));
    assert!(hit("byte_test:2,!=,0x06,0;", b));
    assert!(!hit("byte_test:2,!=,0x01,0;", b));
    assert!(hit("byte_test:2,!,5,0;", b));
    assert!(hit("byte_test:2,<,2,0;", b));
    assert!(!hit("byte_test:2,<,1,0;", b));
    assert!(hit("byte_test:2,<=,1,0;", b));
    assert!(hit("byte_test:2,>,1,2;", b));
    assert!(hit("byte_test:2,>=,2,2;", b));
    assert!(!hit("byte_test:2,>=,3,2;", b));
    assert!(hit("byte_test:2,&,0x01,4;", b));
    assert!(!hit("byte_test:2,&,0x04,4;", b));
    assert!(hit("byte_test:2,!&,0x04,4;", b));
    assert!(hit("byte_test:2,^,0x01,4;", b));
    assert!(!hit("byte_test:2,^,0x03,4;", b));
    assert!(hit("byte_test:6,=,0x000100020003,0;", b));
    assert!(hit("byte_test:2,=,0x0100,0,little;", b));
    assert!(hit("byte_test:1,=,0,0,big;", b));
    // Past the end: no match, whatever the operator.
    assert!(!hit("byte_test:2,!=,7,5;", b));
    assert!(!hit("byte_test:1,=,0,-1;", b));
}

#[test]
fn byte_test_relative() {
    let b = b"\x00\x01\x00\x02\x00\x03";
    assert!(hit(
        r#"content:"|00 01 00 02|"; byte_test:2,=,0x03,0,relative;"#,
        b
    ));
    assert!(hit(r#"content:"|00 02|"; byte_test:1,=,2,-1,relative;"#, b));
    // Nothing after the match.
    assert!(!hit(
        r#"content:"|00 03|"; byte_test:1,>=,0,0,relative;"#,
        b
    ));
    assert!(!hit(
        r#"content:"|00 02|"; byte_test:4,>=,0,0,relative;"#,
        b
    ));
}

#[test]
fn byte_test_strings() {
    assert!(hit(
        r#"content:"foobar"; byte_test:4,=,1337,1,relative,string,dec;"#,
        b"foobar 1337 end"
    ));
    assert!(hit("byte_test:4,=,0x1a2b,0,string,hex;", b"1a2b"));
    assert!(hit("byte_test:3,=,8,0,string,oct;", b"010"));
    // The window is 4 characters: "12ab" reads 12.
    assert!(hit("byte_test:4,=,12,0,string,dec;", b"12ab"));
    assert!(!hit("byte_test:4,>,0,0,string,dec;", b"ab12"));
    assert!(!hit("byte_test:4,!=,5,0,string,dec;", b"abcd"));
    // 0 characters: the digits up to the buffer end.
    assert!(hit("byte_test:0,=,123456,0,string,dec;", b"123456"));
    // Overflow: no match.
    assert!(!hit(
        "byte_test:21,>,0,0,string,dec;",
        b"999999999999999999999"
    ));
}

#[test]
fn byte_test_bitmask() {
    // 0x00F0 & 0x0FF0 = 0x00F0, shifted right by 4 (the mask's trailing zeros) = 0x0F.
    assert!(hit("byte_test:2,=,0x0f,0,bitmask 0x0ff0;", b"\x00\xf0"));
    assert!(!hit("byte_test:2,=,0xf0,0,bitmask 0x0ff0;", b"\x00\xf0"));
    // A zero result is not shifted.
    assert!(hit("byte_test:1,=,0,0,bitmask 0xf0;", b"\x0f"));
    assert!(hit("byte_test:1,=,0,0,bitmask 0;", b"\xff"));
    // TCP-style flags byte: bit 1.
    assert!(hit("byte_test:1,&,1,0,bitmask 0x02;", b"\x12"));
}

#[test]
fn byte_test_variables() {
    assert!(hit(
        "byte_extract:1,0,want; byte_test:1,=,want,2;",
        b"\x07x\x07"
    ));
    assert!(!hit(
        "byte_extract:1,0,want; byte_test:1,=,want,2;",
        b"\x07x\x08"
    ));
    assert!(hit(
        "byte_extract:1,0,at; byte_test:1,=,0x41,at;",
        b"\x03xxA"
    ));
}

#[test]
fn byte_jump_lengths() {
    // A length-prefixed label, then the next one.
    let b = b"\x03abc\x02de\x00";
    assert!(hit(r#"byte_jump:1,0; content:"|02|"; within:1;"#, b));
    assert!(hit(
        r#"byte_jump:1,0; byte_jump:1,0,relative; content:"|00|"; within:1;"#,
        b
    ));
    assert!(!hit(r#"byte_jump:1,0; content:"|03|"; within:1;"#, b));
    // Suricata's documentation example: jump, then content relative to the new position.
    let alice = b"Alice\x00\x03xyzBob";
    assert!(hit(
        r#"content:"Alice"; byte_jump:2,0,relative; content:"Bob"; within:3;"#,
        alice
    ));
    assert!(!hit(
        r#"content:"Alice"; byte_jump:2,0,relative; content:"Bob"; distance:1; within:3;"#,
        alice
    ));
}

#[test]
fn byte_jump_options() {
    // multiplier: 2 × 2 = 4 bytes skipped after the length byte.
    assert!(hit(
        r#"byte_jump:1,0,multiplier 2; content:"X"; within:1;"#,
        b"\x02abcdX"
    ));
    // align: 3 rounds up to 4.
    assert!(hit(
        r#"byte_jump:1,0,align; content:"X"; within:1;"#,
        b"\x03abcdX"
    ));
    assert!(!hit(
        r#"byte_jump:1,0; content:"X"; within:1;"#,
        b"\x03abcdX"
    ));
    // post_offset, positive and negative.
    assert!(hit(
        r#"byte_jump:1,0,post_offset 1; content:"X"; within:1;"#,
        b"\x01aaX"
    ));
    assert!(hit(
        r#"byte_jump:1,0,post_offset -1; content:"b"; within:1;"#,
        b"\x02abX"
    ));
    // from_beginning: the value is an offset from the buffer start.
    assert!(hit(
        r#"byte_jump:1,0,from_beginning; content:"X"; within:1;"#,
        b"\x03abXd"
    ));
    // from_end: 8 bytes before the end (nta-rules does not accept 0 bytes yet, so the
    // value read is a 0 byte).
    assert!(hit(
        r#"byte_jump:1,0,from_end,post_offset -8; content:"|6c 33 33 74|"; distance:0; within:4;"#,
        b"\x00eaderl33t1234"
    ));
    assert!(!hit(
        r#"byte_jump:1,0,from_end,post_offset -7; content:"|6c 33 33 74|"; distance:0; within:4;"#,
        b"\x00eaderl33t1234"
    ));
    // little endian, multi-byte
    assert!(hit(
        r#"byte_jump:2,0,little; content:"X"; within:1;"#,
        b"\x01\x00aX"
    ));
    // string: "12" then 12 characters, then 'M' is next.
    assert!(hit(
        r#"byte_jump:2,0,string,dec; content:"M"; within:1;"#,
        b"12ABCDEFGHIJKLMNOP"
    ));
}

#[test]
fn byte_jump_bounds() {
    // Landing exactly on the end is allowed (Suricata ≥ 7.0.3).
    assert!(hit(r#"byte_jump:1,0; isdataat:!1,relative;"#, b"\x02ab"));
    // Past the end fails.
    assert!(!hit(r#"byte_jump:1,0;"#, b"\x03ab"));
    // Before the start lands on the start.
    assert!(hit(
        r#"content:"ab"; byte_jump:1,0,relative,post_offset -100; content:"X"; within:1;"#,
        b"Xab\x00"
    ));
    // A huge value read as a signed 64-bit jump goes backwards: the start.
    assert!(hit(
        r#"byte_jump:8,0; content:"|ff|"; within:1;"#,
        b"\xff\xff\xff\xff\xff\xff\xff\xf0\x00"
    ));
    assert!(!hit(r#"byte_jump:4,0;"#, b"\x7f\xff\xff\xffab"));
    // Nothing to read at the end of the buffer.
    assert!(!hit(r#"content:"ab"; byte_jump:1,0,relative;"#, b"ab"));
}

#[test]
fn byte_extract_cursor_and_values() {
    // multiplier and align 4: 3 × 2 = 6, aligned to 8.
    let p = crate::tests_util::prog("byte_extract:1,0,n,multiplier 2,align 4;");
    let mut vars = Vars::new();
    assert!(p.inspect(b"\x03", &mut vars));
    assert_eq!(vars.get("n"), Some(8));
    let p = crate::tests_util::prog("byte_extract:2,1,n,little;");
    assert!(p.inspect(b"x\x34\x12", &mut vars));
    assert_eq!(vars.get("n"), Some(0x1234));
    let p = crate::tests_util::prog("byte_extract:3,0,n,string,hex;");
    assert!(p.inspect(b"0ff", &mut vars));
    assert_eq!(vars.get("n"), Some(0xff));
    let p = crate::tests_util::prog("byte_extract:3,0,n,string;");
    assert!(p.inspect(b"010", &mut vars));
    assert_eq!(vars.get("n"), Some(10));
    assert!(!p.inspect(b"xyz", &mut vars));
    // The cursor is after the bytes read (relative reads chain).
    assert!(hit(
        r#"byte_extract:1,0,a; byte_extract:1,0,b,relative; byte_test:1,=,0x43,0,relative;"#,
        b"ABC"
    ));
    assert!(!hit("byte_extract:2,0,n;", b"\x01"));
    assert!(!hit(r#"content:"x"; byte_extract:1,0,n,relative;"#, b"ax"));
}

#[test]
fn unsupported_byte_options() {
    assert_eq!(
        try_prog("byte_test:2,=,1,0,dce;").unwrap_err().keyword,
        "byte_test"
    );
    assert_eq!(
        try_prog("byte_jump:2,0,bitmask 0xff;").unwrap_err().keyword,
        "byte_jump"
    );
    assert_eq!(
        try_prog("byte_extract:2,0,x,dce;").unwrap_err().keyword,
        "byte_extract"
    );
}
