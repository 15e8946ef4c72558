"""The network a client's address counts for in rate limits (status links, sign-ins): an IPv4
address itself (an IPv4-mapped IPv6 address as its IPv4), an IPv6 address by its /64, since one
host commonly holds a whole /64 and would otherwise have a fresh limit per address; what is no
address, cut to 64 characters."""

import ipaddress


def rate_limited_network(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network(f"{ip}/64", strict=False))
