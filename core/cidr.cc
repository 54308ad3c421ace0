#include "core/cidr.h"

#include <arpa/inet.h>

#include <charconv>

namespace korc {

namespace {

using u128 = unsigned __int128;

// The mask of the first `prefix` bits of a `bits`-bit address.
u128 Mask(int prefix, int bits) {
  if (prefix <= 0) return 0;
  u128 all = bits == 128 ? ~u128{0} : (u128{1} << bits) - 1;
  return prefix >= bits ? all : all & ~((u128{1} << (bits - prefix)) - 1);
}

// An IPv4 or IPv6 address as inet_pton reads it, in the low bits of `network`.
std::optional<Cidr> ParseIp(const std::string& addr) {
  Cidr c;
  unsigned char buf[16];
  if (inet_pton(AF_INET, addr.c_str(), buf) == 1) {
    for (int i = 0; i < 4; ++i) c.network = (c.network << 8) | buf[i];
  } else if (inet_pton(AF_INET6, addr.c_str(), buf) == 1) {
    c.v6 = true;
    for (int i = 0; i < 16; ++i) c.network = (c.network << 8) | buf[i];
  } else {
    return std::nullopt;
  }
  c.prefix = c.bits();
  return c;
}

}  // namespace

std::optional<Cidr> Cidr::ParseAddress(std::string_view text) { return ParseIp(std::string(text)); }

std::optional<Cidr> Cidr::Parse(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos || slash + 1 == text.size()) return std::nullopt;
  std::string addr(text.substr(0, slash));
  std::string_view len = text.substr(slash + 1);
  int prefix = -1;
  auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), prefix);
  if (ec != std::errc() || end != len.data() + len.size()) return std::nullopt;
  // Go rejects leading zeros and signs in the length; from_chars already refuses signs.
  if (len.size() > 1 && len[0] == '0') return std::nullopt;
  std::optional<Cidr> parsed = ParseIp(addr);
  if (!parsed) return std::nullopt;
  Cidr c = *parsed;
  if (prefix < 0 || prefix > c.bits()) return std::nullopt;
  c.prefix = prefix;
  c.network &= Mask(prefix, c.bits());
  return c;
}

std::string Cidr::ToString() const { return AddressString() + "/" + std::to_string(prefix); }

std::string Cidr::AddressString() const {
  unsigned char buf[16];
  char text[INET6_ADDRSTRLEN];
  const int bytes = v6 ? 16 : 4;
  u128 n = network;
  for (int i = bytes - 1; i >= 0; --i) {
    buf[i] = static_cast<unsigned char>(n & 0xff);
    n >>= 8;
  }
  inet_ntop(v6 ? AF_INET6 : AF_INET, buf, text, sizeof text);
  return text;
}

bool Cidr::Overlaps(const Cidr& other) const {
  if (v6 != other.v6) return false;
  const int shorter = prefix < other.prefix ? prefix : other.prefix;
  const u128 mask = Mask(shorter, bits());
  return (network & mask) == (other.network & mask);
}

bool Cidr::Contains(const Cidr& other) const {
  return v6 == other.v6 && prefix <= other.prefix &&
         (other.network & Mask(prefix, bits())) == network;
}

Cidr Cidr::Subnet(int sub_prefix, uint64_t index) const {
  Cidr c = *this;
  c.prefix = sub_prefix;
  // A shift by the full width is undefined; index is 0 then anyway.
  if (sub_prefix > 0) c.network = network | (u128{index} << (bits() - sub_prefix));
  return c;
}

}  // namespace korc
