#include "components/kubelet/logs/container_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <deque>
#include <thread>
#include <vector>

#include "core/values.h"

namespace korc::kubelet::logs {

namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string ErrnoText(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Internal(ErrnoText("writing", path));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

std::string RotatedPath(const std::string& path, int i) { return path + "." + std::to_string(i); }

// ---- Reading ------------------------------------------------------------------------------

// One line of the container's output: P records joined, stamped with its first record.
struct LogLine {
  int64_t unix_ns = 0;
  std::string text;       // without the newline
  bool complete = false;  // ended by an F record
};

// Folds CRI records into lines. P records are joined per stream, so interleaved stdout and
// stderr pieces do not garble each other.
class Decoder {
 public:
  // `record` is one record line without its '\n'. Malformed records are skipped: the
  // kubelet does the same, and one damaged line should not hide the rest of the log.
  void Record(std::string_view record, std::vector<LogLine>* out) {
    size_t s1 = record.find(' ');
    if (s1 == std::string_view::npos) return;
    size_t s2 = record.find(' ', s1 + 1);
    if (s2 == std::string_view::npos) return;
    size_t s3 = record.find(' ', s2 + 1);
    std::optional<int64_t> ts = api::ParseRfc3339(record.substr(0, s1));
    if (!ts) return;
    std::string_view stream = record.substr(s1 + 1, s2 - s1 - 1);
    std::string_view tags =
        record.substr(s2 + 1, s3 == std::string_view::npos ? std::string_view::npos : s3 - s2 - 1);
    std::string_view content =
        s3 == std::string_view::npos ? std::string_view() : record.substr(s3 + 1);
    // Tags are ':'-separated; the first says full or partial.
    std::string_view tag = tags.substr(0, tags.find(':'));
    if (tag != "F" && tag != "P") return;
    auto it = pending_.find(stream);
    if (it == pending_.end()) {
      if (tag == "F") {
        out->push_back(LogLine{*ts, std::string(content), true});
        return;
      }
      pending_.emplace(std::string(stream), LogLine{*ts, std::string(content), false});
      return;
    }
    it->second.text.append(content);
    if (tag == "F") {
      it->second.complete = true;
      out->push_back(std::move(it->second));
      pending_.erase(it);
    }
  }

  // Feeds every complete record in `buf` and removes them from it; an unfinished last record
  // (being written right now) stays in `buf`.
  void Feed(std::string* buf, std::vector<LogLine>* out) {
    size_t start = 0;
    for (;;) {
      size_t nl = buf->find('\n', start);
      if (nl == std::string::npos) break;
      Record(std::string_view(*buf).substr(start, nl - start), out);
      start = nl + 1;
    }
    buf->erase(0, start);
  }

  // Unfinished lines, oldest first, as lines without a newline.
  void Drain(std::vector<LogLine>* out) {
    std::vector<LogLine> rest;
    for (auto& [stream, line] : pending_) rest.push_back(std::move(line));
    pending_.clear();
    std::stable_sort(rest.begin(), rest.end(),
                     [](const LogLine& a, const LogLine& b) { return a.unix_ns < b.unix_ns; });
    for (auto& l : rest) out->push_back(std::move(l));
  }

 private:
  std::map<std::string, LogLine, std::less<>> pending_;
};

std::string Render(const LogLine& line, bool timestamps) {
  std::string s;
  if (timestamps) {
    s = FormatRfc3339Nano(line.unix_ns);
    s.push_back(' ');
  }
  s.append(line.text);
  if (line.complete) s.push_back('\n');
  return s;
}

bool Keep(const LogLine& line, const ReadOptions& o) {
  return !o.since_ns || line.unix_ns >= *o.since_ns;
}

Result<std::string> ReadWhole(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("log file " + path + " does not exist");
    return Status::Internal(ErrnoText("opening", path));
  }
  std::string out;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      Status st = Status::Internal(ErrnoText("reading", path));
      ::close(fd);
      return st;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const FileId&) const = default;
};

std::optional<FileId> IdOf(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileId{st.st_dev, st.st_ino};
}

// The rotated files that exist (path.1, path.2, ...), newest first.
std::vector<std::string> RotatedFiles(const std::string& path) {
  std::vector<std::string> out;
  for (int i = 1;; ++i) {
    std::string p = RotatedPath(path, i);
    if (::access(p.c_str(), F_OK) != 0) break;
    out.push_back(std::move(p));
  }
  return out;
}

// Reads whole files into the decoder, in the order given. A file that vanished meanwhile
// (rotated away) is skipped: its content moved to a file already read or dropped by rotation.
Status ReadFiles(const std::vector<std::string>& files, Decoder* dec, std::vector<LogLine>* out) {
  for (const auto& f : files) {
    auto content = ReadWhole(f);
    if (!content.ok()) {
      if (content.status().code() == Code::kNotFound) continue;
      return content.status();
    }
    dec->Feed(&*content, out);
  }
  return Status::Ok();
}

// Applies since, tail and the byte limit; renders. `budget` is the bytes still allowed.
std::string Select(std::vector<LogLine> lines, const ReadOptions& o,
                   std::optional<int64_t>* budget) {
  std::vector<LogLine*> kept;
  for (auto& l : lines) {
    if (Keep(l, o)) kept.push_back(&l);
  }
  size_t first = 0;
  if (o.tail_lines && static_cast<int64_t>(kept.size()) > *o.tail_lines) {
    first = kept.size() - static_cast<size_t>(std::max<int64_t>(*o.tail_lines, 0));
  }
  std::string out;
  for (size_t i = first; i < kept.size(); ++i) out += Render(*kept[i], o.timestamps);
  if (*budget) {
    if (static_cast<int64_t>(out.size()) > **budget) out.resize(static_cast<size_t>(**budget));
    **budget -= static_cast<int64_t>(out.size());
  }
  return out;
}

// Reads what is there from `fd` into `carry`. Returns the number of bytes read.
Result<size_t> ReadAvailable(int fd, std::string* carry, const std::string& path) {
  size_t total = 0;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Internal(ErrnoText("reading", path));
    }
    if (n == 0) return total;
    carry->append(buf, static_cast<size_t>(n));
    total += static_cast<size_t>(n);
  }
}

}  // namespace

// ---- Time ---------------------------------------------------------------------------------

std::string FormatRfc3339Nano(int64_t unix_ns) {
  int64_t secs = unix_ns / 1'000'000'000;
  int64_t frac = unix_ns % 1'000'000'000;
  if (frac < 0) {
    frac += 1'000'000'000;
    secs -= 1;
  }
  time_t t = static_cast<time_t>(secs);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

// ---- Writer -------------------------------------------------------------------------------

Result<std::unique_ptr<ContainerLogWriter>> ContainerLogWriter::Open(std::string path,
                                                                     int64_t max_bytes,
                                                                     int max_files) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return Status::Internal(ErrnoText("opening", path));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    Status s = Status::Internal(ErrnoText("stat", path));
    ::close(fd);
    return s;
  }
  return std::unique_ptr<ContainerLogWriter>(
      new ContainerLogWriter(std::move(path), fd, st.st_size, max_bytes, std::max(max_files, 1)));
}

ContainerLogWriter::~ContainerLogWriter() {
  if (fd_ >= 0) ::close(fd_);
}

Status ContainerLogWriter::Write(std::string_view stream, std::string_view data) {
  return WriteAt(stream, data, NowNs());
}

Status ContainerLogWriter::Flush() { return FlushAt(NowNs()); }

Status ContainerLogWriter::WriteAt(std::string_view stream, std::string_view data,
                                   int64_t unix_ns) {
  auto it = pending_.find(stream);
  if (it == pending_.end()) it = pending_.emplace(std::string(stream), std::string()).first;
  std::string& pending = it->second;
  while (!data.empty()) {
    size_t nl = data.find('\n');
    if (nl == std::string_view::npos) {
      pending.append(data);
      // A line that keeps growing goes out in pieces rather than held without bound.
      while (pending.size() > kMaxRecordBytes) {
        KORC_RETURN_IF_ERROR(
            Emit(stream, 'P', std::string_view(pending).substr(0, kMaxRecordBytes), unix_ns));
        pending.erase(0, kMaxRecordBytes);
      }
      break;
    }
    std::string_view line = data.substr(0, nl);
    data.remove_prefix(nl + 1);
    if (!pending.empty()) {
      pending.append(line);
      line = pending;
    }
    while (line.size() > kMaxRecordBytes) {
      KORC_RETURN_IF_ERROR(Emit(stream, 'P', line.substr(0, kMaxRecordBytes), unix_ns));
      line.remove_prefix(kMaxRecordBytes);
    }
    KORC_RETURN_IF_ERROR(Emit(stream, 'F', line, unix_ns));
    pending.clear();
  }
  return Status::Ok();
}

Status ContainerLogWriter::FlushAt(int64_t unix_ns) {
  for (auto& [stream, pending] : pending_) {
    if (pending.empty()) continue;
    KORC_RETURN_IF_ERROR(Emit(stream, 'P', pending, unix_ns));
    pending.clear();
  }
  return Status::Ok();
}

Status ContainerLogWriter::Emit(std::string_view stream, char tag, std::string_view content,
                                int64_t unix_ns) {
  std::string record = FormatRfc3339Nano(unix_ns);
  record.reserve(record.size() + stream.size() + content.size() + 5);
  record.push_back(' ');
  record.append(stream);
  record.push_back(' ');
  record.push_back(tag);
  record.push_back(' ');
  record.append(content);
  record.push_back('\n');
  if (fd_ >= 0 && max_bytes_ > 0 && size_ > 0 &&
      size_ + static_cast<int64_t>(record.size()) > max_bytes_) {
    KORC_RETURN_IF_ERROR(Rotate());
  }
  if (fd_ < 0) {
    // A failed rotation left no file open; try again so one bad moment does not end logging.
    fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd_ < 0) return Status::Internal(ErrnoText("opening", path_));
    size_ = 0;
  }
  KORC_RETURN_IF_ERROR(WriteAll(fd_, record, path_));
  size_ += static_cast<int64_t>(record.size());
  return Status::Ok();
}

Status ContainerLogWriter::Rotate() {
  // Closed before the renames, so a follower that sees the new inode at `path` knows the old
  // file is complete.
  ::close(fd_);
  fd_ = -1;
  if (max_files_ > 1) {
    std::string oldest = RotatedPath(path_, max_files_ - 1);
    if (::unlink(oldest.c_str()) != 0 && errno != ENOENT) {
      return Status::Internal(ErrnoText("removing", oldest));
    }
    for (int i = max_files_ - 2; i >= 1; --i) {
      std::string from = RotatedPath(path_, i);
      if (::rename(from.c_str(), RotatedPath(path_, i + 1).c_str()) != 0 && errno != ENOENT) {
        return Status::Internal(ErrnoText("rotating", from));
      }
    }
    if (::rename(path_.c_str(), RotatedPath(path_, 1).c_str()) != 0) {
      return Status::Internal(ErrnoText("rotating", path_));
    }
  } else if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
    // One file in all: start over; a new inode, like a rename, so followers notice.
    return Status::Internal(ErrnoText("removing", path_));
  }
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd_ < 0) return Status::Internal(ErrnoText("opening", path_));
  size_ = 0;
  return Status::Ok();
}

// ---- Readers ------------------------------------------------------------------------------

Result<std::string> ReadLog(const std::string& path, const ReadOptions& o) {
  if (::access(path.c_str(), F_OK) != 0) {
    return Status::NotFound("log file " + path + " does not exist");
  }
  std::vector<std::string> files = RotatedFiles(path);
  std::reverse(files.begin(), files.end());
  files.push_back(path);
  Decoder dec;
  std::vector<LogLine> lines;
  // The current file is read last; if it vanished (rotated) since the check, its content is
  // in path.1 which may or may not have been read: good enough for a snapshot read.
  for (const auto& f : files) {
    auto content = ReadWhole(f);
    if (!content.ok()) {
      if (content.status().code() == Code::kNotFound) continue;
      return content.status();
    }
    dec.Feed(&*content, &lines);
  }
  dec.Drain(&lines);
  std::optional<int64_t> budget = o.limit_bytes;
  return Select(std::move(lines), o, &budget);
}

Status FollowLog(const std::string& path, const ReadOptions& o,
                 const std::function<bool(std::string_view)>& sink,
                 const std::function<bool()>& keep_going) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("log file " + path + " does not exist");
    return Status::Internal(ErrnoText("opening", path));
  }
  struct FdCloser {
    int* fd;
    ~FdCloser() {
      if (*fd >= 0) ::close(*fd);
    }
  } closer{&fd};
  auto fd_id = [&]() -> FileId {
    struct stat st;
    if (::fstat(fd, &st) != 0) return {};
    return FileId{st.st_dev, st.st_ino};
  };
  FileId current = fd_id();

  Decoder dec;
  std::vector<LogLine> lines;
  // Rotated files oldest first; one that is the file we hold open was rotated meanwhile and
  // is read through the descriptor below instead.
  std::vector<std::string> rotated = RotatedFiles(path);
  std::reverse(rotated.begin(), rotated.end());
  std::vector<std::string> older;
  for (auto& f : rotated) {
    if (IdOf(f) == std::optional<FileId>(current)) break;
    older.push_back(std::move(f));
  }
  KORC_RETURN_IF_ERROR(ReadFiles(older, &dec, &lines));
  std::string carry;
  KORC_ASSIGN_OR_RETURN(size_t ignored, ReadAvailable(fd, &carry, path));
  (void)ignored;
  dec.Feed(&carry, &lines);

  std::optional<int64_t> budget = o.limit_bytes;
  auto send = [&](std::string chunk) {
    if (chunk.empty()) return true;
    return sink(chunk);
  };
  auto exhausted = [&] { return budget && *budget <= 0; };
  if (!send(Select(std::move(lines), o, &budget)) || exhausted()) return Status::Ok();

  // Tail applies to what was there at the start only; new lines all go out.
  ReadOptions live = o;
  live.tail_lines.reset();
  for (;;) {
    bool more = keep_going();
    lines.clear();
    KORC_ASSIGN_OR_RETURN(size_t n, ReadAvailable(fd, &carry, path));
    dec.Feed(&carry, &lines);
    if (!send(Select(std::move(lines), live, &budget)) || exhausted()) return Status::Ok();
    if (n > 0) continue;
    std::optional<FileId> at_path = IdOf(path);
    if (at_path && *at_path != current) {
      // Rotated. The old file is complete (the writer closes it before renaming) and drained
      // above. Files rotated after it, if the writer rotated more than once since the last
      // poll, come before the new current file.
      std::vector<std::string> newer;
      bool found = false;
      for (auto& f : RotatedFiles(path)) {
        if (IdOf(f) == std::optional<FileId>(current)) {
          found = true;
          break;
        }
        newer.push_back(std::move(f));
      }
      // Not found: the old file was already dropped, and which rotated files are newer than
      // it is unknowable; skip them rather than send old lines twice.
      if (!found) newer.clear();
      std::reverse(newer.begin(), newer.end());
      int next = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (next < 0) {
        if (errno == ENOENT) continue;  // between the writer's rename and its open
        return Status::Internal(ErrnoText("opening", path));
      }
      ::close(fd);
      fd = next;
      current = fd_id();
      carry.clear();  // a torn record at the end of a closed file can never complete
      lines.clear();
      std::erase_if(
          newer, [&](const std::string& f) { return IdOf(f) == std::optional<FileId>(current); });
      KORC_RETURN_IF_ERROR(ReadFiles(newer, &dec, &lines));
      if (!send(Select(std::move(lines), live, &budget)) || exhausted()) return Status::Ok();
      continue;
    }
    if (!more) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  lines.clear();
  dec.Drain(&lines);
  send(Select(std::move(lines), live, &budget));
  return Status::Ok();
}

}  // namespace korc::kubelet::logs
