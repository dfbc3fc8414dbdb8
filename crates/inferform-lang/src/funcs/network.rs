//! IP network functions: `cidrhost`, `cidrnetmask`, `cidrsubnet`, `cidrsubnets`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use inferform_types::Value;

use super::args::{arity, err, string, FuncError};

pub(super) fn dispatch(name: &str, a: &[Value]) -> Option<Result<Value, FuncError>> {
    Some(match name {
        "cidrhost" => arity(name, a, 2).and_then(|_| {
            let net = Net::parse(&string(&a[0], "the prefix")?)?;
            let host = whole(&a[1], "the host number")?;
            let size = 1i128 << (net.bits() - net.len);
            let offset = if host < 0 { size + host } else { host };
            if offset < 0 || offset >= size {
                return Err(err(
                    format!("the host number {host} does not fit in the prefix"),
                    format!("the prefix has {size} addresses"),
                ));
            }
            Ok(Value::String(net.addr(net.base + offset as u128)))
        }),
        "cidrnetmask" => arity(name, a, 1).and_then(|_| {
            let net = Net::parse(&string(&a[0], "the prefix")?)?;
            if net.v6 {
                return Err(err(
                    "only IPv4 prefixes have a netmask",
                    "pass an IPv4 prefix such as 10.0.0.0/16",
                ));
            }
            let mask = (u32::MAX as u128) << (32 - net.len) & u32::MAX as u128;
            Ok(Value::String(net.addr(mask)))
        }),
        "cidrsubnet" => arity(name, a, 3).and_then(|_| {
            let net = Net::parse(&string(&a[0], "the prefix")?)?;
            let newbits = whole(&a[1], "the new bits")?;
            let netnum = whole(&a[2], "the network number")?;
            net.subnet(newbits, netnum)
                .map(|n| Value::String(n.to_string()))
        }),
        "cidrsubnets" => cidrsubnets(a),
        _ => return None,
    })
}

fn whole(v: &Value, what: &str) -> Result<i128, FuncError> {
    super::args::whole(v, what).map(i128::from)
}

/// A prefix: its base address (host bits cleared, as Terraform), length and family.
#[derive(Clone, Copy)]
struct Net {
    base: u128,
    len: u32,
    v6: bool,
}

impl Net {
    fn parse(text: &str) -> Result<Net, FuncError> {
        let bad = || {
            err(
                format!("{text:?} is not a CIDR prefix"),
                "write an address and a length, such as 10.0.0.0/16",
            )
        };
        let (addr, len) = text.split_once('/').ok_or_else(bad)?;
        let ip: IpAddr = addr.parse().map_err(|_| bad())?;
        let len: u32 = len.parse().map_err(|_| bad())?;
        let (value, v6) = match ip {
            IpAddr::V4(v4) => (u32::from(v4) as u128, false),
            IpAddr::V6(v6) => (u128::from(v6), true),
        };
        let net = Net { base: 0, len, v6 };
        if len > net.bits() {
            return Err(bad());
        }
        let host_bits = net.bits() - len;
        let base = if host_bits >= 128 {
            0
        } else {
            value >> host_bits << host_bits
        };
        Ok(Net { base, ..net })
    }

    fn bits(&self) -> u32 {
        if self.v6 {
            128
        } else {
            32
        }
    }

    fn addr(&self, value: u128) -> String {
        if self.v6 {
            Ipv6Addr::from(value).to_string()
        } else {
            Ipv4Addr::from(value as u32).to_string()
        }
    }

    fn subnet(&self, newbits: i128, netnum: i128) -> Result<Net, FuncError> {
        let len = self.len as i128 + newbits;
        if newbits < 0 || len > self.bits() as i128 {
            return Err(err(
                format!("cannot extend a /{} prefix by {newbits} bits", self.len),
                format!("the new length must be at most {}", self.bits()),
            ));
        }
        if netnum < 0 || (newbits < 127 && netnum >= 1i128 << newbits) {
            return Err(err(
                format!("the network number {netnum} does not fit in {newbits} bits"),
                "pass a smaller network number, or more new bits",
            ));
        }
        let len = len as u32;
        let shift = self.bits() - len;
        let base = self.base
            | if shift >= 128 {
                0
            } else {
                (netnum as u128) << shift
            };
        Ok(Net {
            base,
            len,
            v6: self.v6,
        })
    }
}

impl std::fmt::Display for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr(self.base), self.len)
    }
}

/// `cidrsubnets(prefix, newbits...)`: consecutive subnets, each aligned to its own size.
fn cidrsubnets(a: &[Value]) -> Result<Value, FuncError> {
    let (prefix, rest) = a
        .split_first()
        .ok_or_else(|| err("needs a prefix", "write cidrsubnets(\"10.0.0.0/16\", 4, 4)"))?;
    let net = Net::parse(&string(prefix, "the prefix")?)?;
    let mut next = net.base;
    // One past the prefix's last address; `None` when that is past the family's last (a /0).
    let end = 1u128
        .checked_shl(net.bits() - net.len)
        .filter(|_| net.bits() - net.len < 128)
        .and_then(|span| net.base.checked_add(span));
    let mut out = Vec::new();
    for v in rest {
        let newbits = whole(v, "each new bits")?;
        let sub = net.subnet(newbits, 0)?;
        let no_room = || {
            err(
                "not enough room in the prefix for every subnet",
                "ask for fewer or smaller subnets",
            )
        };
        let size = 1u128
            .checked_shl(net.bits() - sub.len)
            .filter(|_| net.bits() - sub.len < 128)
            .ok_or_else(no_room)?;
        // Aligned up to the subnet's own size.
        let start = next.div_ceil(size).checked_mul(size).ok_or_else(no_room)?;
        let stop = start.checked_add(size).ok_or_else(no_room)?;
        if end.is_some_and(|end| stop > end) {
            return Err(no_room());
        }
        out.push(Value::String(
            Net {
                base: start,
                len: sub.len,
                v6: net.v6,
            }
            .to_string(),
        ));
        next = stop;
    }
    Ok(Value::List(out))
}
