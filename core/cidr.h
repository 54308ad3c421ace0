// IP networks in CIDR notation ("10.244.0.0/16", "fd00::/64"): parsing as Go's
// net.ParseCIDR does (the address may have host bits set; the network is masked), formatting,
// and the arithmetic node IPAM needs (containment, overlap, the i-th subnet of a range). A
// single address is a full-length network ("10.96.0.1" is 10.96.0.1/32).
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace korc {

struct Cidr {
  bool v6 = false;
  // The network address (host bits zero), in the low 32 bits for IPv4.
  unsigned __int128 network = 0;
  int prefix = 0;  // 0..32 (IPv4) or 0..128 (IPv6)

  // "10.244.1.0/24"; nullopt for anything else (a bare address, a bad prefix, junk).
  static std::optional<Cidr> Parse(std::string_view text);
  // One address ("10.96.0.1", "fd00::1") as a /32 or /128; nullopt for anything else.
  static std::optional<Cidr> ParseAddress(std::string_view text);

  int bits() const { return v6 ? 128 : 32; }
  // Canonical text: "10.244.1.0/24", "fd00::/64".
  std::string ToString() const;
  // The network address without its length: "10.244.1.0", "fd00::".
  std::string AddressString() const;
  // Whether the two share any address (same family and one contains the other's network).
  bool Overlaps(const Cidr& other) const;
  // Whether `other` lies entirely inside this network.
  bool Contains(const Cidr& other) const;
  // The `index`-th subnet of length `prefix` inside this network (index 0 is the lowest).
  // REQUIRES: this->prefix <= prefix <= bits(), index < 2^(prefix - this->prefix).
  Cidr Subnet(int prefix, uint64_t index) const;

  bool operator==(const Cidr&) const = default;
};

}  // namespace korc
