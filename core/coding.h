// Byte-level helpers for korc's persisted formats: varints, length-prefixed strings,
// big-endian keys and CRC32C. Each Get* consumes from the front of `in` and returns false
// when the input is truncated or malformed; it never reads past the end.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace korc::coding {

void PutVarint64(std::string* out, uint64_t v);
bool GetVarint64(std::string_view* in, uint64_t* v);

void PutLengthPrefixed(std::string* out, std::string_view s);
bool GetLengthPrefixed(std::string_view* in, std::string_view* s);

// Zig-zag maps signed to unsigned so small negative numbers stay short.
inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

// Big-endian fixed 64-bit: byte order equals numeric order, so RocksDB iterates in seq order.
void PutBigEndian64(std::string* out, uint64_t v);
uint64_t DecodeBigEndian64(const char* p);
std::string BigEndian64(uint64_t v);

// Castagnoli CRC (the one RocksDB and iSCSI use); hardware accelerated where available.
uint32_t Crc32c(std::string_view data, uint32_t init = 0);

}  // namespace korc::coding
