//! Which addresses a notification sink may be delivered to.
//!
//! A sink's URL comes from a Secret that a namespace's users write, so without a limit a
//! sink could make the operator send requests into the cluster's own network: the API
//! server on a private address, the cloud's metadata endpoint (169.254.169.254) on a
//! link-local one, a sidecar on loopback. [`SinkAddressPolicy::check`] refuses every
//! address in a [`RestrictedRange`] unless an allowed [`Cidr`] (the operator's
//! `--notification-allowed-cidrs`) contains it. The operator checks each address a sink's
//! host resolves to when it opens a connection, and connects only to an address that
//! passed, so a name that resolves elsewhere later (DNS rebinding) is checked again.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// A block of addresses, written `10.0.0.0/8` or `fd00::/8`; a bare address is the block
/// of that one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// Why a text is not a CIDR block.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// The part before `/` is not an IPv4 or IPv6 address.
    #[error("{value:?} is not a CIDR block: {address:?} is not an IPv4 or IPv6 address")]
    Address {
        /// The text given.
        value: String,
        /// Its address part.
        address: String,
    },
    /// The part after `/` is not a prefix length the address family allows.
    #[error("{value:?} is not a CIDR block: the prefix length must be a number from 0 to {max}")]
    Prefix {
        /// The text given.
        value: String,
        /// The longest prefix of the address family: 32 or 128.
        max: u8,
    },
}

impl Cidr {
    /// The block of `prefix` leading bits of `address` (the bits after them ignored).
    pub fn new(address: IpAddr, prefix: u8) -> Option<Self> {
        let max = max_prefix(address);
        (prefix <= max).then(|| Self { network: truncate(address, prefix), prefix })
    }

    /// The block's first address.
    pub fn network(&self) -> IpAddr {
        self.network
    }

    /// The number of leading bits that every address of the block shares.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `address` is in the block. An IPv6 address that maps an IPv4 one
    /// (`::ffff:127.0.0.1`) is in the IPv4 blocks that hold the address it maps.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = match (self.network, address) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => return false,
            },
            _ => address,
        };
        max_prefix(address) == max_prefix(self.network) && truncate(address, self.prefix) == self.network
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let trimmed = value.trim();
        let (address_text, prefix_text) = match trimmed.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (trimmed, None),
        };
        let address: IpAddr = address_text
            .parse()
            .map_err(|_| CidrError::Address { value: value.to_string(), address: address_text.to_string() })?;
        let max = max_prefix(address);
        let prefix = match prefix_text {
            None => max,
            Some(text) => text
                .parse::<u8>()
                .ok()
                .filter(|prefix| *prefix <= max)
                .ok_or_else(|| CidrError::Prefix { value: value.to_string(), max })?,
        };
        Ok(Self { network: truncate(address, prefix), prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

fn max_prefix(address: IpAddr) -> u8 {
    if address.is_ipv4() { 32 } else { 128 }
}

fn truncate(address: IpAddr, prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
}

/// A range of addresses that reaches the cluster's own network or the host, not the sinks
/// notifications are meant for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RestrictedRange {
    /// `0.0.0.0/8` and `::`: "this host" (a connection to them reaches the host itself).
    Unspecified,
    /// `127.0.0.0/8` and `::1`.
    Loopback,
    /// `169.254.0.0/16` and `fe80::/10`, where cloud metadata endpoints answer.
    LinkLocal,
    /// `10.0.0.0/8`, `172.16.0.0/12` and `192.168.0.0/16`.
    Private,
    /// `fc00::/7`.
    UniqueLocal,
    /// `100.64.0.0/10`, the carrier-grade NAT space, where some clouds serve metadata.
    SharedAddressSpace,
    /// `224.0.0.0/4` and `ff00::/8`.
    Multicast,
    /// `240.0.0.0/4`, with the broadcast address `255.255.255.255`.
    Reserved,
}

impl RestrictedRange {
    /// The range `address` is in, if it is in one. IPv6 addresses that carry an IPv4
    /// address (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`)
    /// are in the range of the IPv4 address they carry.
    pub fn of(address: IpAddr) -> Option<Self> {
        match address {
            IpAddr::V4(v4) => Self::of_v4(v4),
            IpAddr::V6(v6) => Self::of_v6(v6),
        }
    }

    fn of_v4(address: Ipv4Addr) -> Option<Self> {
        let [first, second, ..] = address.octets();
        match first {
            0 => Some(Self::Unspecified),
            10 => Some(Self::Private),
            127 => Some(Self::Loopback),
            100 if (64..128).contains(&second) => Some(Self::SharedAddressSpace),
            169 if second == 254 => Some(Self::LinkLocal),
            172 if (16..32).contains(&second) => Some(Self::Private),
            192 if second == 168 => Some(Self::Private),
            224..=239 => Some(Self::Multicast),
            240..=255 => Some(Self::Reserved),
            _ => None,
        }
    }

    fn of_v6(address: Ipv6Addr) -> Option<Self> {
        if address.is_unspecified() {
            return Some(Self::Unspecified);
        }
        if address.is_loopback() {
            return Some(Self::Loopback);
        }
        let segments = address.segments();
        let carries_v4 = matches!(segments, [0, 0, 0, 0, 0, 0 | 0xffff, _, _] | [0x64, 0xff9b, 0, 0, 0, 0, _, _]);
        if carries_v4 {
            let [.., high, low] = segments;
            return Self::of_v4(Ipv4Addr::from((u32::from(high) << 16) | u32::from(low)));
        }
        match segments[0] {
            first if first & 0xffc0 == 0xfe80 => Some(Self::LinkLocal),
            first if first & 0xfe00 == 0xfc00 => Some(Self::UniqueLocal),
            first if first & 0xff00 == 0xff00 => Some(Self::Multicast),
            _ => None,
        }
    }
}

impl fmt::Display for RestrictedRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unspecified => "unspecified (0.0.0.0/8, ::)",
            Self::Loopback => "loopback (127.0.0.0/8, ::1)",
            Self::LinkLocal => "link-local (169.254.0.0/16, fe80::/10, where cloud metadata endpoints answer)",
            Self::Private => "private (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)",
            Self::UniqueLocal => "unique-local (fc00::/7)",
            Self::SharedAddressSpace => "shared address space (100.64.0.0/10)",
            Self::Multicast => "multicast (224.0.0.0/4, ff00::/8)",
            Self::Reserved => "reserved (240.0.0.0/4)",
        })
    }
}

/// An address a sink may not be delivered to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{address} is a {range} address, which notification sinks may not use unless --notification-allowed-cidrs lists it"
)]
pub struct AddressRefused {
    /// The address.
    pub address: IpAddr,
    /// The range it is in.
    pub range: RestrictedRange,
}

/// Which addresses sinks may be delivered to: any address outside the
/// [`RestrictedRange`]s, and those inside them that an allowed block contains.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SinkAddressPolicy {
    allowed: Vec<Cidr>,
}

impl SinkAddressPolicy {
    /// Every restricted range refused except the addresses in `allowed`.
    pub fn allowing(allowed: Vec<Cidr>) -> Self {
        Self { allowed }
    }

    /// The allowed blocks.
    pub fn allowed(&self) -> &[Cidr] {
        &self.allowed
    }

    /// Whether a sink may be delivered to `address`.
    pub fn check(&self, address: IpAddr) -> Result<(), AddressRefused> {
        match RestrictedRange::of(address) {
            Some(range) if !self.allowed.iter().any(|cidr| cidr.contains(address)) => {
                Err(AddressRefused { address, range })
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn every_restricted_range_is_recognised_at_its_edges() {
        use RestrictedRange::*;
        let cases = [
            ("0.0.0.0", Some(Unspecified)),
            ("0.255.255.255", Some(Unspecified)),
            ("::", Some(Unspecified)),
            ("127.0.0.1", Some(Loopback)),
            ("127.255.255.254", Some(Loopback)),
            ("::1", Some(Loopback)),
            ("169.254.169.254", Some(LinkLocal)),
            ("169.254.0.0", Some(LinkLocal)),
            ("169.255.0.1", None),
            ("fe80::1", Some(LinkLocal)),
            ("febf:ffff::1", Some(LinkLocal)),
            ("fec0::1", None),
            ("10.0.0.1", Some(Private)),
            ("10.255.255.255", Some(Private)),
            ("11.0.0.1", None),
            ("172.16.0.1", Some(Private)),
            ("172.31.255.255", Some(Private)),
            ("172.15.255.255", None),
            ("172.32.0.0", None),
            ("192.168.1.1", Some(Private)),
            ("192.169.0.1", None),
            ("fc00::1", Some(UniqueLocal)),
            ("fd00:ec2::254", Some(UniqueLocal)),
            ("fbff::1", None),
            ("100.64.0.1", Some(SharedAddressSpace)),
            ("100.100.100.200", Some(SharedAddressSpace)),
            ("100.128.0.1", None),
            ("224.0.0.1", Some(Multicast)),
            ("ff02::1", Some(Multicast)),
            ("240.0.0.1", Some(Reserved)),
            ("255.255.255.255", Some(Reserved)),
            ("8.8.8.8", None),
            ("203.0.113.7", None),
            ("2001:db8::1", None),
            ("2606:4700::1111", None),
        ];
        for (address, expected) in cases {
            assert_eq!(RestrictedRange::of(ip(address)), expected, "{address}");
        }
    }

    #[test]
    fn ipv6_forms_of_ipv4_addresses_are_in_the_ipv4_ranges() {
        use RestrictedRange::*;
        let cases = [
            ("::ffff:127.0.0.1", Some(Loopback)),
            ("::ffff:169.254.169.254", Some(LinkLocal)),
            ("::ffff:10.1.2.3", Some(Private)),
            ("::ffff:172.20.0.1", Some(Private)),
            ("::ffff:192.168.0.1", Some(Private)),
            ("::ffff:0.0.0.0", Some(Unspecified)),
            ("::ffff:8.8.8.8", None),
            ("::127.0.0.1", Some(Loopback)),
            ("::169.254.169.254", Some(LinkLocal)),
            ("64:ff9b::10.0.0.1", Some(Private)),
            ("64:ff9b::169.254.169.254", Some(LinkLocal)),
            ("64:ff9b::8.8.8.8", None),
        ];
        for (address, expected) in cases {
            assert_eq!(RestrictedRange::of(ip(address)), expected, "{address}");
        }
    }

    #[test]
    fn the_default_policy_refuses_every_restricted_address_and_names_its_range() {
        let policy = SinkAddressPolicy::default();
        for address in ["127.0.0.1", "::1", "169.254.169.254", "fe80::1", "10.0.0.1", "fd00::1", "0.0.0.0", "::"] {
            assert!(policy.check(ip(address)).is_err(), "{address}");
        }
        assert_eq!(policy.check(ip("203.0.113.7")), Ok(()));
        let refused = policy.check(ip("169.254.169.254")).unwrap_err();
        assert_eq!(refused.range, RestrictedRange::LinkLocal);
        assert_eq!(
            refused.to_string(),
            "169.254.169.254 is a link-local (169.254.0.0/16, fe80::/10, where cloud metadata endpoints answer) \
             address, which notification sinks may not use unless --notification-allowed-cidrs lists it"
        );
    }

    #[test]
    fn allowed_blocks_open_only_what_they_contain() {
        let policy = SinkAddressPolicy::allowing(vec!["127.0.0.0/8".parse().unwrap(), "fd12::/16".parse().unwrap()]);
        assert_eq!(policy.check(ip("127.0.0.1")), Ok(()));
        assert_eq!(policy.check(ip("127.200.0.9")), Ok(()));
        assert_eq!(policy.check(ip("::ffff:127.0.0.1")), Ok(()), "the mapped form of an allowed address");
        assert_eq!(policy.check(ip("fd12:3::1")), Ok(()));
        assert!(policy.check(ip("::1")).is_err(), "IPv6 loopback is not in 127.0.0.0/8");
        assert!(policy.check(ip("169.254.169.254")).is_err());
        assert!(policy.check(ip("10.0.0.1")).is_err());
        assert!(policy.check(ip("fd13::1")).is_err());
        let metadata = SinkAddressPolicy::allowing(vec!["169.254.169.254".parse().unwrap()]);
        assert_eq!(metadata.check(ip("169.254.169.254")), Ok(()));
        assert!(metadata.check(ip("169.254.169.253")).is_err());
    }

    #[test]
    fn cidr_blocks_parse_and_reject_what_is_not_one() {
        let cidr: Cidr = " 10.1.2.3/8 ".parse().unwrap();
        assert_eq!((cidr.network(), cidr.prefix()), (ip("10.0.0.0"), 8));
        assert_eq!(cidr.to_string(), "10.0.0.0/8");
        assert_eq!("192.0.2.1".parse::<Cidr>().unwrap().to_string(), "192.0.2.1/32");
        assert_eq!("fe80::1/10".parse::<Cidr>().unwrap().to_string(), "fe80::/10");
        assert_eq!("0.0.0.0/0".parse::<Cidr>().unwrap().prefix(), 0);
        assert!("0.0.0.0/0".parse::<Cidr>().unwrap().contains(ip("8.8.8.8")));
        assert!(!"0.0.0.0/0".parse::<Cidr>().unwrap().contains(ip("2001:db8::1")));
        assert_eq!(
            "10.0.0.0/33".parse::<Cidr>().unwrap_err().to_string(),
            "\"10.0.0.0/33\" is not a CIDR block: the prefix length must be a number from 0 to 32"
        );
        assert!(matches!("fd00::/129".parse::<Cidr>(), Err(CidrError::Prefix { max: 128, .. })));
        assert!(matches!("10.0.0.0/x".parse::<Cidr>(), Err(CidrError::Prefix { .. })));
        assert_eq!(
            "localhost/8".parse::<Cidr>().unwrap_err().to_string(),
            "\"localhost/8\" is not a CIDR block: \"localhost\" is not an IPv4 or IPv6 address"
        );
        assert!("".parse::<Cidr>().is_err());
        assert_eq!(Cidr::new(ip("172.20.1.1"), 12), Some("172.16.0.0/12".parse().unwrap()));
        assert_eq!(Cidr::new(ip("172.20.1.1"), 33), None);
    }
}
