// Internal to bus/: the message formats the publisher, the catch-up server and the
// subscriber share (bus/README.md describes them), and the one place cppzmq errors become
// Status. Other modules include only bus/bus.h.
//
// ON THE WIRE: peers of different korc versions talk these formats; do not change a frame's
// meaning or renumber a tag. Add a new tag instead.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <zmq.hpp>

#include "core/status.h"

namespace korc::bus::wire {

// Live (PUB): [topic][seq][EncodeEvent bytes], or a heartbeat [""][last published seq][""].
// Catch-up request (DEALER -> ROUTER): [""][request id][after seq].
// Catch-up reply (ROUTER -> DEALER), each message: [""][request id][tag][...]:
inline constexpr char kBatchTag = 'B';  // ... [event]...: EncodeEvent bytes, dense seqs
inline constexpr char kEndTag = 'E';    // ... [read_to][head]: read up to read_to; more if < head
inline constexpr char kErrorTag = 'X';  // ... [error name][message]: see ErrorName()

// Seqs and request ids: 8 bytes big-endian.
inline constexpr size_t kSeqSize = 8;

std::string EncodeSeq(uint64_t v);
// False when the frame is not exactly 8 bytes.
bool DecodeSeq(const zmq::message_t& frame, uint64_t* v);

// The name an error travels under ("Expired", "Corruption", ...) and back. An unknown name
// (a newer peer) reads as Internal.
std::string_view ErrorName(Code code);
Code ErrorCode(std::string_view name);

// A cppzmq exception as a Status: Invalid for a malformed address, Unavailable for an
// address in use, a terminated context or an unreachable peer, Internal otherwise.
Status FromZmqError(const zmq::error_t& e, std::string_view context);

// Waits up to `timeout_ms` for `socket` to become readable. A signal interrupting the wait
// (EINTR) is not an error: the caller looks again. Throws zmq::error_t otherwise.
void PollIn(zmq::socket_t& socket, long timeout_ms);

// Ceil of the time left until `deadline`, in whole milliseconds (>= 0), for zmq_poll.
long PollMillis(std::chrono::steady_clock::time_point now,
                std::chrono::steady_clock::time_point deadline);

}  // namespace korc::bus::wire
