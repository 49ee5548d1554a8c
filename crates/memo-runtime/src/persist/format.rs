//! One entry file: a fixed header, the replay section, the payload.
//!
//! ```text
//! offset size
//!      0    8  magic  b"MEMOENT\0"
//!      8    4  format version (FORMAT_VERSION)
//!     12    4  payload codec (CODEC: codec.rs's compact little-endian encoding)
//!     16   16  function key   (scope, name, source hash)
//!     32   16  value key      (the call's key digest)
//!     48    8  value type     (xxh3-64 of the type's name)
//!     56    8  written at     (unix nanoseconds)
//!     64    8  expires at     (unix nanoseconds; 0: never)
//!     72    8  replay length
//!     80    8  payload length
//!     88    8  body checksum  (xxh3-64 of replay and payload)
//!     96    8  value shape    (digest of the type's struct, field and
//!                              variant names met in the value: codec::Shapes)
//!    104    8  header checksum (xxh3-64 of bytes 0..104)
//!    112       replay bytes, then payload bytes
//! ```
//!
//! All integers are little-endian. The replay section is opaque here: element
//! replay stores what the function drew with its value.

use super::bulk;
use super::codec::{self, Reader};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use std::io::{self, Read, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use xxhash_rust::xxh3::{xxh3_64, Xxh3};

pub(crate) const MAGIC: [u8; 8] = *b"MEMOENT\0";
pub(crate) const FORMAT_VERSION: u32 = 2;
pub(crate) const CODEC: u32 = 1;
pub(crate) const HEADER: usize = 112;
const FIRST_READ: u64 = 64 * 1024;

/// Which entry a file must hold to answer a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Want {
    pub(crate) function_key: u128,
    pub(crate) value_key: u128,
    pub(crate) type_hash: u64,
}

/// The hash of a value type, stored so that bytes written as one type are
/// never decoded as another with the same layout (`Vec<u64>` as `Vec<f64>`).
pub(crate) fn type_hash<T: ?Sized>() -> u64 {
    type_hash_of(std::any::type_name::<T>())
}

/// [`type_hash`] of the type named `name`.
pub(crate) fn type_hash_of(name: &str) -> u64 {
    xxh3_64(name.as_bytes())
}

/// The header's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) want: Want,
    pub(crate) written_at: u64,
    /// Unix nanoseconds; 0: never.
    pub(crate) expires_at: u64,
    pub(crate) replay_len: u64,
    pub(crate) payload_len: u64,
    pub(crate) body_sum: u64,
    /// The digest of the names the value's type gave (`codec::Shapes`).
    pub(crate) shape: u64,
}

/// Why a file did not answer a call. Every one is a miss.
#[derive(Debug)]
pub(crate) enum Reject {
    /// No such file: the ordinary miss.
    Absent,
    /// The entry's time is up: a miss, not a fault.
    Expired,
    /// Not a memo entry, or a damaged one.
    Corrupt(String),
    /// Written by an incompatible version of memo.
    Version(u32),
    /// Holds another key or type than asked (a renamed file, a collision).
    Mismatch(&'static str),
    /// Intact, of a type of the same name, but its struct, field or variant
    /// names differ from the current type's, or it does not decode as it.
    TypeChanged(String),
    /// Something else than a regular file is at the entry's name (a
    /// directory, a FIFO, a socket, a device, a symlink to one): what it is.
    NotAFile(&'static str),
    /// The file could not be read.
    Io(io::Error),
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reject::Absent => f.write_str("no entry"),
            Reject::Expired => f.write_str("expired"),
            Reject::Corrupt(why) => write!(f, "corrupt entry: {why}"),
            Reject::Version(v) => write!(
                f,
                "entry format version {v}, this build reads version {FORMAT_VERSION}"
            ),
            Reject::Mismatch(what) => write!(f, "the entry holds another {what}"),
            Reject::TypeChanged(why) => write!(
                f,
                "the value's type changed since the entry was written ({why})"
            ),
            Reject::NotAFile(what) => write!(f, "{what} is in the entry's place"),
            Reject::Io(e) => write!(f, "can't read the entry: {e}"),
        }
    }
}

impl From<codec::Error> for Reject {
    fn from(e: codec::Error) -> Self {
        Reject::Corrupt(e.0)
    }
}

/// Unix time in nanoseconds (0 before 1970, which no expiry compares below).
pub(crate) fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos().min(u128::from(u64::MAX)) as u64)
}

impl Header {
    fn to_bytes(self) -> [u8; HEADER] {
        let mut b = [0u8; HEADER];
        b[0..8].copy_from_slice(&MAGIC);
        b[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        b[12..16].copy_from_slice(&CODEC.to_le_bytes());
        b[16..32].copy_from_slice(&self.want.function_key.to_le_bytes());
        b[32..48].copy_from_slice(&self.want.value_key.to_le_bytes());
        b[48..56].copy_from_slice(&self.want.type_hash.to_le_bytes());
        b[56..64].copy_from_slice(&self.written_at.to_le_bytes());
        b[64..72].copy_from_slice(&self.expires_at.to_le_bytes());
        b[72..80].copy_from_slice(&self.replay_len.to_le_bytes());
        b[80..88].copy_from_slice(&self.payload_len.to_le_bytes());
        b[88..96].copy_from_slice(&self.body_sum.to_le_bytes());
        b[96..104].copy_from_slice(&self.shape.to_le_bytes());
        let sum = xxh3_64(&b[..104]);
        b[104..112].copy_from_slice(&sum.to_le_bytes());
        b
    }

    /// Parses and checks a header against the file's length and what is
    /// wanted. The checks run in the order that gives the truest message.
    pub(crate) fn parse(b: &[u8; HEADER], file_len: u64, want: &Want) -> Result<Header, Reject> {
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default());
        let u128_at = |i: usize| u128::from_le_bytes(b[i..i + 16].try_into().unwrap_or_default());
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap_or_default());
        if b[0..8] != MAGIC {
            return Err(Reject::Corrupt("not a memo entry (bad magic)".into()));
        }
        if xxh3_64(&b[..104]) != u64_at(104) {
            return Err(Reject::Corrupt("header checksum mismatch".into()));
        }
        let version = u32_at(8);
        if version != FORMAT_VERSION {
            return Err(Reject::Version(version));
        }
        if u32_at(12) != CODEC {
            return Err(Reject::Corrupt(format!(
                "unknown payload codec {}",
                u32_at(12)
            )));
        }
        let h = Header {
            want: Want {
                function_key: u128_at(16),
                value_key: u128_at(32),
                type_hash: u64_at(48),
            },
            written_at: u64_at(56),
            expires_at: u64_at(64),
            replay_len: u64_at(72),
            payload_len: u64_at(80),
            body_sum: u64_at(88),
            shape: u64_at(96),
        };
        if h.want.function_key != want.function_key {
            return Err(Reject::Mismatch("function"));
        }
        if h.want.value_key != want.value_key {
            return Err(Reject::Mismatch("key"));
        }
        if h.want.type_hash != want.type_hash {
            return Err(Reject::Mismatch("value type"));
        }
        let body = h.replay_len.checked_add(h.payload_len);
        if body.and_then(|n| n.checked_add(HEADER as u64)) != Some(file_len) {
            return Err(Reject::Corrupt(format!(
                "the header announces {} + {} bytes, the file has {}",
                h.replay_len,
                h.payload_len,
                file_len.saturating_sub(HEADER as u64)
            )));
        }
        Ok(h)
    }
}

/// An encoded entry, ready to be written.
pub(crate) struct Encoded {
    header: [u8; HEADER],
    shape: u64,
    replay: Vec<u8>,
    payload: Vec<u8>,
}

impl Encoded {
    /// Writes the whole entry.
    pub(crate) fn write_to(&self, mut w: impl Write) -> io::Result<()> {
        w.write_all(&self.header)?;
        w.write_all(&self.replay)?;
        w.write_all(&self.payload)?;
        w.flush()
    }

    /// Whether the payload decodes back to a `T`. A type whose `Deserialize`
    /// does not fit the format (one that needs `deserialize_any`, or a
    /// hand-written pair that disagree) fails here, in the process that
    /// wrote it, instead of as a damaged entry in every later one.
    /// The shape digest read back must be the one written, too: a type
    /// whose `Serialize` and `Deserialize` name different things would
    /// otherwise be written and then never read.
    pub(crate) fn decodes_as<T: DeserializeOwned + 'static>(&self) -> Result<(), codec::Error> {
        let len = self.payload.len() as u64;
        let mut r = Reader::new(&self.payload[..], len, Xxh3::new());
        let shape = match bulk::decode::<T, _>(&mut r) {
            Some(v) => v.map(|_| codec::NO_SHAPE)?,
            None => codec::decode::<T, _>(&mut r).map(|(_, shape)| shape)?,
        };
        r.finish()?;
        if shape != self.shape {
            return Err(codec::Error(
                "its `Deserialize` asks for other struct, field or variant names than its `Serialize` gives (`#[serde(alias)]`?)".into(),
            ));
        }
        Ok(())
    }

    /// The entry's bytes, for tests.
    #[cfg(test)]
    pub(crate) fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::new();
        let _ = self.write_to(&mut v);
        v
    }
}

/// Encodes an entry. Fails only if the value's `Serialize` does.
pub(crate) fn encode<T: Serialize + ?Sized>(
    want: Want,
    value: &T,
    replay: Vec<u8>,
    written_at: SystemTime,
    ttl: Option<Duration>,
) -> Result<Encoded, codec::Error> {
    let mut payload = Vec::new();
    let shape = codec::encode(value, &mut payload)?;
    let mut sum = Xxh3::new();
    sum.update(&replay);
    sum.update(&payload);
    let expires_at = match ttl {
        // An expiry too far to represent is no expiry; one that lands on 0
        // (which means "never") is pushed by a nanosecond.
        Some(ttl) => written_at
            .checked_add(ttl)
            .map_or(0, |t| unix_nanos(t).max(1)),
        None => 0,
    };
    let header = Header {
        want,
        written_at: unix_nanos(written_at),
        expires_at,
        replay_len: replay.len() as u64,
        payload_len: payload.len() as u64,
        body_sum: sum.digest(),
        shape,
    };
    Ok(Encoded {
        header: header.to_bytes(),
        shape,
        replay,
        payload,
    })
}

/// How long an entry has left to live (`None`: forever), or `Expired`.
pub(crate) fn time_left(h: &Header, now: SystemTime) -> Result<Option<Duration>, Reject> {
    match h.expires_at {
        0 => Ok(None),
        at => match at.checked_sub(unix_nanos(now)) {
            Some(n) if n > 0 => Ok(Some(Duration::from_nanos(n))),
            _ => Err(Reject::Expired),
        },
    }
}

/// What a file gave back.
#[derive(Debug)]
pub(crate) struct Decoded<T> {
    pub(crate) value: T,
    pub(crate) replay: Vec<u8>,
    /// How long the value has left to live, if it expires.
    pub(crate) left: Option<Duration>,
}

impl<T> Decoded<T> {
    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Decoded<U> {
        Decoded {
            value: f(self.value),
            replay: self.replay,
            left: self.left,
        }
    }
}

/// Reads an entry of `file_len` bytes from `r`, checking everything before
/// it trusts it: header fields, lengths against the file, the checksum over
/// every byte, and that the payload decodes to exactly a `T`.
pub(crate) fn decode<T: DeserializeOwned + 'static, R: Read>(
    mut r: R,
    file_len: u64,
    want: &Want,
    now: SystemTime,
) -> Result<Decoded<T>, Reject> {
    if file_len == 0 {
        return Err(Reject::Corrupt("zero-byte file".into()));
    }
    if file_len < HEADER as u64 {
        return Err(Reject::Corrupt(format!(
            "{file_len} bytes, shorter than a header"
        )));
    }
    // One read for the header and, for a small entry, everything else.
    let mut first = vec![0u8; file_len.min(FIRST_READ) as usize];
    r.read_exact(&mut first).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => Reject::Corrupt("the file shrank while read".into()),
        _ => Reject::Io(e),
    })?;
    let mut head = [0u8; HEADER];
    head.copy_from_slice(&first[..HEADER]);
    let h = Header::parse(&head, file_len, want)?;
    let r = (&first[HEADER..]).chain(r);
    let left = time_left(&h, now)?;
    let mut replay_reader = Reader::new(r, h.replay_len, Xxh3::new());
    let replay = replay_reader.rest()?;
    let (r, sum) = replay_reader.finish()?;
    let mut payload = Reader::new(r, h.payload_len, sum);
    let value = match bulk::decode(&mut payload) {
        Some(v) => v.map(|v| (v, codec::NO_SHAPE)),
        None => codec::decode(&mut payload),
    };
    // The rest of an entry that did not decode, or that holds more than the
    // value, is read too, so that an intact entry (of a type changed since)
    // is told from a damaged one.
    let left_over = payload.left();
    let drained = match &value {
        Err(_) => payload.drain(),
        Ok(_) if left_over > 0 => payload.drain(),
        Ok(_) => Ok(()),
    };
    let finished = payload.finish();
    // A checksum mismatch explains a decoding failure better than the
    // failure does, so it is checked first.
    let sum_ok = matches!(&finished, Ok((_, sum)) if sum.digest() == h.body_sum);
    if finished.is_ok() && !sum_ok {
        return Err(Reject::Corrupt("checksum mismatch".into()));
    }
    drained?;
    let (value, shape) = match value {
        Ok(v) => v,
        // Every byte is as written: the current type can't read them.
        Err(e) if sum_ok => {
            return Err(Reject::TypeChanged(format!(
                "the entry does not decode as the current one: {e}"
            )))
        }
        Err(e) => return Err(e.into()),
    };
    finished?;
    if left_over > 0 {
        return Err(if sum_ok {
            Reject::TypeChanged(format!(
                "the current one reads {left_over} bytes less of the entry"
            ))
        } else {
            Reject::Corrupt(format!("{left_over} bytes after the value"))
        });
    }
    if shape != h.shape {
        return Err(Reject::TypeChanged(
            "its struct, field or variant names differ".into(),
        ));
    }
    Ok(Decoded {
        value,
        replay,
        left,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const WANT: Want = Want {
        function_key: 1,
        value_key: 2,
        type_hash: 3,
    };

    fn entry(ttl: Option<Duration>) -> Vec<u8> {
        encode(
            WANT,
            &vec![1u32, 2, 3],
            b"ui".to_vec(),
            SystemTime::now(),
            ttl,
        )
        .unwrap()
        .to_vec()
    }

    fn read(bytes: &[u8]) -> Result<Decoded<Vec<u32>>, Reject> {
        decode(bytes, bytes.len() as u64, &WANT, SystemTime::now())
    }

    #[test]
    fn round_trip_with_replay() {
        let d = read(&entry(None)).unwrap();
        assert_eq!(
            (d.value, d.replay, d.left),
            (vec![1, 2, 3], b"ui".to_vec(), None)
        );
    }

    #[test]
    fn expiry_is_kept_and_honoured() {
        let bytes = entry(Some(Duration::from_secs(60)));
        let left = read(&bytes).unwrap().left.unwrap();
        assert!(left <= Duration::from_secs(60) && left > Duration::from_secs(50));
        let later = SystemTime::now() + Duration::from_secs(61);
        let r = decode::<Vec<u32>, _>(&bytes[..], bytes.len() as u64, &WANT, later);
        assert!(matches!(r, Err(Reject::Expired)));
    }

    #[test]
    fn another_key_or_type_is_a_mismatch() {
        let bytes = entry(None);
        for (want, what) in [
            (
                Want {
                    value_key: 9,
                    ..WANT
                },
                "key",
            ),
            (
                Want {
                    function_key: 9,
                    ..WANT
                },
                "function",
            ),
            (
                Want {
                    type_hash: 9,
                    ..WANT
                },
                "value type",
            ),
        ] {
            let r = decode::<Vec<u32>, _>(&bytes[..], bytes.len() as u64, &want, SystemTime::now());
            assert!(matches!(r, Err(Reject::Mismatch(w)) if w == what), "{r:?}");
        }
    }

    #[test]
    fn a_flipped_payload_bit_fails_the_checksum() {
        let mut bytes = entry(None);
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(matches!(read(&bytes), Err(Reject::Corrupt(m)) if m.contains("checksum")));
    }
}
