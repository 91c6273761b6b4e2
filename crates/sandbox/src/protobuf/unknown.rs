//! Fields the body carries that the prost messages do not know. prost skips unknown fields
//! while decoding; to drop nothing silently, the decoded message is encoded again and the
//! two encodings are compared field by field. Strings and bytes come back verbatim, so a
//! length-delimited field that differs is a message and is compared in turn. A field that
//! did not come back is allowed only when it held nothing (a zero, an empty string, a
//! message of such fields), as Go clients send every non-pointer field of their newer types.

/// How deep messages may nest before the body is refused.
const MAX_DEPTH: usize = 100;

/// One field as it sits on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire<'a> {
    /// A varint, or a fixed 32- or 64-bit value.
    Number(u64),
    /// A length-delimited value: a string, bytes or a message.
    Delimited(&'a [u8]),
}

fn varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..70).step_by(7) {
        let (&byte, rest) = bytes.split_first()?;
        *bytes = rest;
        value |= u64::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let (head, rest) = (bytes.get(..n)?, bytes.get(n..)?);
    *bytes = rest;
    Some(head)
}

/// The fields of a message, in wire order; `None` when the bytes are not a message.
fn fields(mut bytes: &[u8]) -> Option<Vec<(u64, Wire<'_>)>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let key = varint(&mut bytes)?;
        let value = match key & 7 {
            0 => Wire::Number(varint(&mut bytes)?),
            1 => Wire::Number(u64::from_le_bytes(take(&mut bytes, 8)?.try_into().ok()?)),
            2 => {
                let len = usize::try_from(varint(&mut bytes)?).ok()?;
                Wire::Delimited(take(&mut bytes, len)?)
            }
            5 => Wire::Number(u64::from(u32::from_le_bytes(take(&mut bytes, 4)?.try_into().ok()?))),
            _ => return None,
        };
        out.push((key >> 3, value));
    }
    Some(out)
}

/// Whether a field holds nothing: zero, empty, or a message of such fields.
fn is_empty(value: Wire<'_>, depth: usize) -> bool {
    match value {
        Wire::Number(n) => n == 0,
        Wire::Delimited([]) => true,
        Wire::Delimited(bytes) => {
            depth < MAX_DEPTH && fields(bytes).is_some_and(|fs| fs.into_iter().all(|(_, v)| is_empty(v, depth + 1)))
        }
    }
}

/// The path of field numbers (`2.3.44`) to the first field of `sent` with content that
/// `decoded` (its decoded message, encoded again) lacks; `None` when nothing was dropped.
pub fn dropped(sent: &[u8], decoded: &[u8]) -> Option<String> {
    compare(sent, decoded, 0).err().map(|path| path.iter().map(u64::to_string).collect::<Vec<_>>().join("."))
}

fn compare(sent: &[u8], decoded: &[u8], depth: usize) -> Result<(), Vec<u64>> {
    let (Some(sent), Some(decoded)) = (fields(sent), fields(decoded)) else { return Err(Vec::new()) };
    if depth > MAX_DEPTH {
        return Err(Vec::new());
    }
    let mut seen: Vec<(u64, usize)> = Vec::new();
    for (tag, value) in sent {
        let index = match seen.iter_mut().find(|(t, _)| *t == tag) {
            Some((_, count)) => {
                *count += 1;
                *count - 1
            }
            None => {
                seen.push((tag, 1));
                0
            }
        };
        let again = decoded.iter().filter(|(t, _)| *t == tag).nth(index).map(|(_, v)| *v);
        let within = |mut path: Vec<u64>| {
            path.insert(0, tag);
            path
        };
        match (value, again) {
            (value, None) if !is_empty(value, depth) => return Err(vec![tag]),
            (Wire::Delimited(sent), Some(Wire::Delimited(decoded))) if sent != decoded => {
                compare(sent, decoded, depth + 1).map_err(within)?;
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_pb::api::core::v1::{ConfigMap, ContainerPort};
    use k8s_pb::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use prost::Message;

    /// A body as a newer client would send it: `message` plus a field numbered `tag`.
    fn with_field(message: &impl Message, tag: u32, value: &[u8]) -> Vec<u8> {
        let mut body = message.encode_to_vec();
        prost::encoding::bytes::encode(tag, &value.to_vec(), &mut body);
        body
    }

    fn redecoded<M: Message + Default>(body: &[u8]) -> Vec<u8> {
        M::decode(body).expect("decodes").encode_to_vec()
    }

    #[test]
    fn a_field_prost_does_not_know_is_found_with_its_path() {
        let meta = with_field(&ObjectMeta { name: Some("x".into()), ..ObjectMeta::default() }, 99, b"new");
        let mut body = Vec::new();
        prost::encoding::bytes::encode(1, &meta, &mut body);
        assert_eq!(dropped(&body, &redecoded::<ConfigMap>(&body)), Some("1.99".to_string()));
        let top = with_field(&ConfigMap::default(), 42, b"x");
        assert_eq!(dropped(&top, &redecoded::<ConfigMap>(&top)), Some("42".to_string()));
    }

    #[test]
    fn empty_unknown_fields_and_empty_map_values_are_not_losses() {
        let empty_new_field = with_field(&ConfigMap::default(), 42, b"");
        assert_eq!(dropped(&empty_new_field, &redecoded::<ConfigMap>(&empty_new_field)), None);
        let zero_struct = with_field(&ContainerPort::default(), 9, &[0x08, 0x00, 0x12, 0x00]);
        assert_eq!(dropped(&zero_struct, &redecoded::<ContainerPort>(&zero_struct)), None);
        // Go writes a map entry's empty value; prost leaves it out when encoding again.
        let entry = [0x0a, 0x01, b'k', 0x12, 0x00];
        let mut body = Vec::new();
        prost::encoding::bytes::encode(2, &entry.to_vec(), &mut body);
        assert_eq!(dropped(&body, &redecoded::<ConfigMap>(&body)), None);
    }

    #[test]
    fn malformed_wire_data_is_not_a_message() {
        assert_eq!(fields(&[0x0a, 0x05, b'a']), None);
        assert_eq!(fields(&[0xff; 11]), None);
        assert_eq!(fields(&[0x0b]), None);
    }
}
