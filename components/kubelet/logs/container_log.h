// Container logs in the CRI format the Kubernetes kubelet reads, with size rotation.
//
// One file per container attempt, one record per line:
//
//   2026-11-28T06:00:00.123456789Z stdout F hello
//
// "F" ends a line; "P" is a piece of a line that continues in the next record of the same
// stream (a line longer than kMaxRecordBytes, or an unfinished line at container exit). The
// format is persisted (and read by tools that know CRI logs): do not change it.
//
// The writer runs inside the per-container shim process, so this library depends only on
// core (no spdlog, no threads). The readers run in the kubelet and serve `kubectl logs`.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace korc::kubelet::logs {

// A line longer than this is split into P records, as containerd and CRI-O do.
inline constexpr size_t kMaxRecordBytes = 16 * 1024;

// ContainerLogWriter: appends a container's stdout/stderr to `path` as CRI records, rotating
// by size (path -> path.1 -> path.2 ..., max_files files in all, the oldest dropped).
//
// Each record is written with one write(2) on an O_APPEND descriptor, so a concurrent
// reader sees whole records except possibly the very last one still being written.
//
// Thread-safety: none; one writer per file (the shim). Lifetime: owns its descriptor;
// destroying it flushes nothing (call Flush() at container exit).
class ContainerLogWriter {
 public:
  // max_bytes <= 0 disables rotation; max_files < 1 is treated as 1 (rotation then truncates
  // by starting the file over). Appends to an existing file.
  static Result<std::unique_ptr<ContainerLogWriter>> Open(std::string path, int64_t max_bytes,
                                                          int max_files);
  ~ContainerLogWriter();
  ContainerLogWriter(const ContainerLogWriter&) = delete;
  ContainerLogWriter& operator=(const ContainerLogWriter&) = delete;

  // Appends a chunk read from the container's pipe; `stream` is "stdout" or "stderr".
  // Complete lines become F records at once; an unfinished line waits (per stream) for its
  // newline, or is written as P records once it reaches kMaxRecordBytes. Timestamps come
  // from the system clock.
  Status Write(std::string_view stream, std::string_view data);
  // Writes pending unfinished lines as P records (at container exit).
  Status Flush();

  // Like Write() but with the record timestamp given (tests, replay).
  Status WriteAt(std::string_view stream, std::string_view data, int64_t unix_ns);
  Status FlushAt(int64_t unix_ns);

 private:
  ContainerLogWriter(std::string path, int fd, int64_t size, int64_t max_bytes, int max_files)
      : path_(std::move(path)),
        fd_(fd),
        size_(size),
        max_bytes_(max_bytes),
        max_files_(max_files) {}
  Status Emit(std::string_view stream, char tag, std::string_view content, int64_t unix_ns);
  Status Rotate();

  std::string path_;
  int fd_;
  int64_t size_;
  int64_t max_bytes_;
  int max_files_;
  std::map<std::string, std::string, std::less<>> pending_;  // stream -> unfinished line
};

struct ReadOptions {
  std::optional<int64_t> tail_lines;   // the last N lines only
  std::optional<int64_t> limit_bytes;  // stop after this many bytes of output
  bool timestamps = false;             // prefix each line with "<RFC3339Nano> "
  std::optional<int64_t> since_ns;     // lines stamped at or after this instant only
};

// The container's output as `kubectl logs` prints it: the content of each line (with
// timestamps: "<time> content", the time of the line's first record), P records joined to
// their line, rotated files read oldest first. A final unfinished line has no newline.
// NotFound when `path` does not exist. Malformed records are skipped, as the kubelet does.
Result<std::string> ReadLog(const std::string& path, const ReadOptions& o);

// Follows a log: sends what ReadLog would, then keeps sending new lines (across rotations,
// tracking the file's inode) until `keep_going()` returns false and the file has no more
// content, or `sink` returns false (the client is gone). Polls for growth every ~100 ms.
// Blocks the calling thread. NotFound when `path` does not exist at the start.
Status FollowLog(const std::string& path, const ReadOptions& o,
                 const std::function<bool(std::string_view)>& sink,
                 const std::function<bool()>& keep_going);

// "2026-11-28T06:00:00.123456789Z" (always nine fraction digits, UTC), as CRI log records and
// kubectl's --timestamps want them; api::ParseRfc3339 (core/values.h) reads it back.
std::string FormatRfc3339Nano(int64_t unix_ns);

}  // namespace korc::kubelet::logs
