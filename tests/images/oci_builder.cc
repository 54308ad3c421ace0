#include "tests/images/oci_builder.h"

#include <archive.h>
#include <archive_entry.h>
#include <elf.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

namespace korc::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

struct ArchiveWriteDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
using WriteArchive = std::unique_ptr<archive, ArchiveWriteDeleter>;
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using ArchiveEntry = std::unique_ptr<archive_entry, EntryDeleter>;

std::string ArchiveError(archive* a) {
  const char* s = archive_error_string(a);
  return s ? s : "unknown libarchive error";
}

// libarchive writes into a growing string through these callbacks.
la_ssize_t AppendToString(archive*, void* client, const void* buf, size_t n) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

Status OpenIntoString(archive* a, std::string* out) {
  // libarchive pads the last block of its output to 10240 bytes by default; after a
  // compression filter that padding would be trailing garbage behind the zstd/gzip stream.
  archive_write_set_bytes_in_last_block(a, 1);
  if (archive_write_open(a, out, nullptr, AppendToString, nullptr) != ARCHIVE_OK) {
    return Status::Internal("archive_write_open: " + ArchiveError(a));
  }
  return Status::Ok();
}

Result<std::string> WriteTar(const std::vector<Entry>& entries) {
  std::string out;
  WriteArchive a(archive_write_new());
  archive_write_set_format_pax_restricted(a.get());
  KORC_RETURN_IF_ERROR(OpenIntoString(a.get(), &out));
  for (const auto& e : entries) {
    ArchiveEntry ae(archive_entry_new());
    archive_entry_set_pathname(ae.get(), e.path.c_str());
    archive_entry_set_perm(ae.get(), e.mode & 07777);
    archive_entry_set_uid(ae.get(), e.uid);
    archive_entry_set_gid(ae.get(), e.gid);
    if (!e.uname.empty()) archive_entry_set_uname(ae.get(), e.uname.c_str());
    if (!e.gname.empty()) archive_entry_set_gname(ae.get(), e.gname.c_str());
    archive_entry_set_mtime(ae.get(), e.mtime, 0);
    for (const auto& [name, value] : e.xattrs) {
      archive_entry_xattr_add_entry(ae.get(), name.c_str(), value.data(), value.size());
    }
    switch (e.type) {
      case Entry::kFile:
        archive_entry_set_filetype(ae.get(), AE_IFREG);
        archive_entry_set_size(ae.get(), static_cast<la_int64_t>(e.content.size()));
        break;
      case Entry::kDir:
        archive_entry_set_filetype(ae.get(), AE_IFDIR);
        break;
      case Entry::kSymlink:
        archive_entry_set_filetype(ae.get(), AE_IFLNK);
        archive_entry_set_symlink(ae.get(), e.link.c_str());
        break;
      case Entry::kHardlink:
        archive_entry_set_filetype(ae.get(), AE_IFREG);
        archive_entry_set_hardlink(ae.get(), e.link.c_str());
        archive_entry_set_size(ae.get(), 0);
        break;
      case Entry::kFifo:
        archive_entry_set_filetype(ae.get(), AE_IFIFO);
        break;
      case Entry::kCharDev:
        archive_entry_set_filetype(ae.get(), AE_IFCHR);
        archive_entry_set_rdev(ae.get(), makedev(e.dev_major, e.dev_minor));
        break;
    }
    if (archive_write_header(a.get(), ae.get()) != ARCHIVE_OK) {
      return Status::Internal("tar header for \"" + e.path + "\": " + ArchiveError(a.get()));
    }
    if (e.type == Entry::kFile && !e.content.empty()) {
      la_ssize_t n = archive_write_data(a.get(), e.content.data(), e.content.size());
      if (n != static_cast<la_ssize_t>(e.content.size())) {
        return Status::Internal("tar data for \"" + e.path + "\": " + ArchiveError(a.get()));
      }
    }
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    return Status::Internal("closing tar: " + ArchiveError(a.get()));
  }
  return out;
}

// Compresses `data` as one stream (the "raw" format writes a single entry's bytes only).
Result<std::string> Compress(const std::string& data, Compression compression) {
  std::string out;
  WriteArchive a(archive_write_new());
  archive_write_set_format_raw(a.get());
  if (compression == Compression::kGzip) {
    archive_write_add_filter_gzip(a.get());
    // No mtime or name in the gzip header: equal tars give equal blobs.
    archive_write_set_filter_option(a.get(), "gzip", "timestamp", nullptr);
  } else {
    if (archive_write_add_filter_zstd(a.get()) != ARCHIVE_OK) {
      return Status::Internal("zstd: " + ArchiveError(a.get()));
    }
  }
  KORC_RETURN_IF_ERROR(OpenIntoString(a.get(), &out));
  ArchiveEntry ae(archive_entry_new());
  archive_entry_set_pathname(ae.get(), "layer.tar");
  archive_entry_set_filetype(ae.get(), AE_IFREG);
  archive_entry_set_perm(ae.get(), 0644);
  archive_entry_set_size(ae.get(), static_cast<la_int64_t>(data.size()));
  if (archive_write_header(a.get(), ae.get()) != ARCHIVE_OK ||
      archive_write_data(a.get(), data.data(), data.size()) !=
          static_cast<la_ssize_t>(data.size()) ||
      archive_write_close(a.get()) != ARCHIVE_OK) {
    return Status::Internal("compressing layer: " + ArchiveError(a.get()));
  }
  return out;
}

std::string Hex(const unsigned char* p, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += kDigits[p[i] >> 4];
    s += kDigits[p[i] & 15];
  }
  return s;
}

Status WriteFileAtomically(const std::string& path, const std::string& bytes) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) return Status::Internal("mkdir for " + path + ": " + ec.message());
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) return Status::Internal("writing " + tmp);
  }
  fs::rename(tmp, path, ec);
  if (ec) return Status::Internal("rename " + tmp + ": " + ec.message());
  return Status::Ok();
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json DescriptorJson(const Descriptor& d) {
  json j = {{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  if (d.platform) {
    json p = {{"architecture", d.platform->architecture}, {"os", d.platform->os}};
    if (!d.platform->variant.empty()) p["variant"] = d.platform->variant;
    j["platform"] = p;
  }
  return j;
}

bool IsValidDigest(const std::string& digest) {
  if (digest.size() != 71 || digest.rfind("sha256:", 0) != 0) return false;
  for (size_t i = 7; i < digest.size(); ++i) {
    char c = digest[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// True when the ELF file has no PT_INTERP header, i.e. needs no dynamic loader.
Result<bool> IsStaticElf(const std::string& path) {
  auto bytes = ReadFile(path);
  if (!bytes.ok()) return bytes.status();
  const std::string& b = *bytes;
  if (b.size() < sizeof(Elf64_Ehdr) || b.compare(0, 4, ELFMAG) != 0 || b[EI_CLASS] != ELFCLASS64) {
    return Status::Invalid(path + " is not a 64-bit ELF file");
  }
  Elf64_Ehdr eh;
  std::memcpy(&eh, b.data(), sizeof eh);
  for (int i = 0; i < eh.e_phnum; ++i) {
    size_t off = eh.e_phoff + static_cast<size_t>(i) * eh.e_phentsize;
    if (off + sizeof(Elf64_Phdr) > b.size()) return Status::Invalid(path + ": truncated ELF");
    Elf64_Phdr ph;
    std::memcpy(&ph, b.data() + off, sizeof ph);
    if (ph.p_type == PT_INTERP) return false;
  }
  return true;
}

}  // namespace

Entry Entry::File(std::string path, std::string content, mode_t mode) {
  Entry e;
  e.path = std::move(path);
  e.type = kFile;
  e.content = std::move(content);
  e.mode = mode;
  return e;
}

Entry Entry::Dir(std::string path, mode_t mode) {
  Entry e;
  e.path = std::move(path);
  e.type = kDir;
  e.mode = mode;
  return e;
}

Entry Entry::Symlink(std::string path, std::string target) {
  Entry e;
  e.path = std::move(path);
  e.type = kSymlink;
  e.link = std::move(target);
  e.mode = 0777;
  return e;
}

Entry Entry::Hardlink(std::string path, std::string target) {
  Entry e;
  e.path = std::move(path);
  e.type = kHardlink;
  e.link = std::move(target);
  return e;
}

Entry Entry::Fifo(std::string path, mode_t mode) {
  Entry e;
  e.path = std::move(path);
  e.type = kFifo;
  e.mode = mode;
  return e;
}

Entry Entry::CharDev(std::string path, unsigned major, unsigned minor, mode_t mode) {
  Entry e;
  e.path = std::move(path);
  e.type = kCharDev;
  e.dev_major = major;
  e.dev_minor = minor;
  e.mode = mode;
  return e;
}

Entry Entry::Whiteout(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  return File(dir + ".wh." + base, "", 0644);
}

Entry Entry::Opaque(const std::string& dir) {
  std::string d = dir;
  while (!d.empty() && d.back() == '/') d.pop_back();
  return File(d.empty() ? ".wh..wh..opq" : d + "/.wh..wh..opq", "", 0644);
}

std::string Sha256Digest(const std::string& bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_sha256(), nullptr);
  return "sha256:" + Hex(md, n);
}

Result<OciLayoutBuilder> OciLayoutBuilder::Create(std::string dir) {
  std::error_code ec;
  fs::create_directories(dir + "/blobs/sha256", ec);
  if (ec) return Status::Internal("mkdir " + dir + ": " + ec.message());
  KORC_RETURN_IF_ERROR(
      WriteFileAtomically(dir + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
  OciLayoutBuilder b(std::move(dir));
  // An empty index.json so the layout is valid before the first Write.
  json index = {{"schemaVersion", 2}, {"mediaType", kOciIndex}, {"manifests", json::array()}};
  KORC_RETURN_IF_ERROR(WriteFileAtomically(b.dir_ + "/index.json", index.dump()));
  return b;
}

std::string OciLayoutBuilder::BlobPath(const std::string& digest) const {
  std::string hex = digest.rfind("sha256:", 0) == 0 ? digest.substr(7) : digest;
  return dir_ + "/blobs/sha256/" + hex;
}

Result<std::string> OciLayoutBuilder::AddBlob(const std::string& bytes) {
  std::string digest = Sha256Digest(bytes);
  KORC_RETURN_IF_ERROR(WriteFileAtomically(BlobPath(digest), bytes));
  return digest;
}

Result<std::string> OciLayoutBuilder::ReadBlob(const std::string& digest) const {
  return ReadFile(BlobPath(digest));
}

Result<Layer> OciLayoutBuilder::AddLayer(const std::vector<Entry>& entries,
                                         Compression compression) {
  KORC_ASSIGN_OR_RETURN(std::string tar, WriteTar(entries));
  Layer layer;
  layer.diff_id = Sha256Digest(tar);
  std::string blob;
  switch (compression) {
    case Compression::kNone:
      layer.media_type = kOciLayerTar;
      blob = std::move(tar);
      break;
    case Compression::kGzip:
    case Compression::kZstd: {
      layer.media_type = compression == Compression::kGzip ? kOciLayerGzip : kOciLayerZstd;
      KORC_ASSIGN_OR_RETURN(blob, Compress(tar, compression));
      break;
    }
  }
  layer.size = static_cast<int64_t>(blob.size());
  KORC_ASSIGN_OR_RETURN(layer.digest, AddBlob(blob));
  return layer;
}

Result<Descriptor> OciLayoutBuilder::AddImage(const Platform& platform,
                                              const std::vector<Layer>& layers,
                                              const ImageConfig& config) {
  json cfg = json::object();
  if (!config.entrypoint.empty()) cfg["Entrypoint"] = config.entrypoint;
  if (!config.cmd.empty()) cfg["Cmd"] = config.cmd;
  if (!config.env.empty()) cfg["Env"] = config.env;
  if (!config.working_dir.empty()) cfg["WorkingDir"] = config.working_dir;
  if (!config.user.empty()) cfg["User"] = config.user;

  json diff_ids = json::array();
  for (const auto& l : layers) diff_ids.push_back(l.diff_id);
  json history = json::array();
  if (config.history.empty()) {
    for (size_t i = 0; i < layers.size(); ++i) {
      history.push_back({{"created", "2024-01-01T00:00:00Z"},
                         {"created_by", "korc test layer " + std::to_string(i)}});
    }
  } else {
    for (const auto& h : config.history) {
      json e = {{"created", "2024-01-01T00:00:00Z"}, {"created_by", h.created_by}};
      if (h.empty_layer) e["empty_layer"] = true;
      history.push_back(e);
    }
  }
  json image = {{"created", "2024-01-01T00:00:00Z"},
                {"architecture", platform.architecture},
                {"os", platform.os}};
  if (!platform.variant.empty()) image["variant"] = platform.variant;
  image["config"] = cfg;
  image["rootfs"] = {{"type", "layers"}, {"diff_ids", diff_ids}};
  image["history"] = history;
  std::string config_bytes = image.dump();
  KORC_ASSIGN_OR_RETURN(std::string config_digest, AddBlob(config_bytes));

  json layer_descs = json::array();
  for (const auto& l : layers) layer_descs.push_back(DescriptorJson(l.descriptor()));
  json manifest = {{"schemaVersion", 2},
                   {"mediaType", kOciManifest},
                   {"config", DescriptorJson({kOciConfig, config_digest,
                                              static_cast<int64_t>(config_bytes.size())})},
                   {"layers", layer_descs}};
  std::string manifest_bytes = manifest.dump();
  KORC_ASSIGN_OR_RETURN(std::string digest, AddBlob(manifest_bytes));
  Descriptor d{kOciManifest, digest, static_cast<int64_t>(manifest_bytes.size())};
  d.platform = platform;
  return d;
}

Result<Descriptor> OciLayoutBuilder::AddAttestation(const Descriptor& subject) {
  const std::string statement =
      R"({"_type":"https://in-toto.io/Statement/v0.1",)"
      R"("predicateType":"https://spdx.dev/Document","subject":[],"predicate":{}})";
  KORC_ASSIGN_OR_RETURN(std::string layer_digest, AddBlob(statement));
  json cfg = {{"architecture", "unknown"},
              {"os", "unknown"},
              {"config", json::object()},
              {"rootfs", {{"type", "layers"}, {"diff_ids", {layer_digest}}}}};
  std::string config_bytes = cfg.dump();
  KORC_ASSIGN_OR_RETURN(std::string config_digest, AddBlob(config_bytes));
  Descriptor layer{"application/vnd.in-toto+json", layer_digest,
                   static_cast<int64_t>(statement.size())};
  layer.annotations["in-toto.io/predicate-type"] = "https://spdx.dev/Document";
  json manifest = {{"schemaVersion", 2},
                   {"mediaType", kOciManifest},
                   {"config", DescriptorJson({kOciConfig, config_digest,
                                              static_cast<int64_t>(config_bytes.size())})},
                   {"layers", {DescriptorJson(layer)}}};
  std::string manifest_bytes = manifest.dump();
  KORC_ASSIGN_OR_RETURN(std::string digest, AddBlob(manifest_bytes));
  Descriptor d{kOciManifest, digest, static_cast<int64_t>(manifest_bytes.size())};
  d.platform = Platform{"unknown", "unknown", ""};
  d.annotations["vnd.docker.reference.type"] = "attestation-manifest";
  d.annotations["vnd.docker.reference.digest"] = subject.digest;
  return d;
}

Result<Descriptor> OciLayoutBuilder::AddIndex(const std::vector<Descriptor>& manifests) {
  json list = json::array();
  for (const auto& m : manifests) list.push_back(DescriptorJson(m));
  json index = {{"schemaVersion", 2}, {"mediaType", kOciIndex}, {"manifests", list}};
  std::string bytes = index.dump();
  KORC_ASSIGN_OR_RETURN(std::string digest, AddBlob(bytes));
  return Descriptor{kOciIndex, digest, static_cast<int64_t>(bytes.size())};
}

Status OciLayoutBuilder::Write(const std::string& tag, const Descriptor& top) {
  Descriptor d = top;
  // index.json names the tag; a platform there would make skopeo pick by it, which only
  // confuses single-image layouts.
  d.platform.reset();
  d.annotations["org.opencontainers.image.ref.name"] = tag;
  bool replaced = false;
  for (auto& [t, desc] : tags_) {
    if (t == tag) {
      desc = d;
      replaced = true;
    }
  }
  if (!replaced) tags_.emplace_back(tag, d);
  json list = json::array();
  for (const auto& [t, desc] : tags_) list.push_back(DescriptorJson(desc));
  json index = {{"schemaVersion", 2}, {"mediaType", kOciIndex}, {"manifests", list}};
  return WriteFileAtomically(dir_ + "/index.json", index.dump());
}

Status OciLayoutBuilder::CorruptBlob(const std::string& digest) {
  if (!IsValidDigest(digest)) return Status::Invalid("bad digest " + digest);
  return CorruptFile(BlobPath(digest));
}

Status CorruptFile(const std::string& path) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  if (!f) return Status::NotFound("cannot open " + path);
  f.seekg(0, std::ios::end);
  std::streamoff size = f.tellg();
  if (size <= 0) return Status::Invalid(path + " is empty; nothing to corrupt");
  std::streamoff at = size / 2;
  f.seekg(at);
  char c = 0;
  f.get(c);
  f.seekp(at);
  f.put(static_cast<char>(c ^ 0x5a));
  f.flush();
  if (!f) return Status::Internal("writing " + path);
  return Status::Ok();
}

Result<std::string> FindStaticBusybox() {
  for (const char* p : {"/bin/busybox", "/usr/bin/busybox"}) {
    if (!fs::exists(p)) continue;
    auto is_static = IsStaticElf(p);
    if (is_static.ok() && *is_static) return std::string(p);
  }
  return Status::NotFound(
      "no statically linked busybox at /bin/busybox or /usr/bin/busybox (apt-get install "
      "busybox-static)");
}

Result<std::vector<Entry>> BusyboxEntries(bool hardlinks) {
  KORC_ASSIGN_OR_RETURN(std::string path, FindStaticBusybox());
  KORC_ASSIGN_OR_RETURN(std::string binary, ReadFile(path));
  std::vector<Entry> out = {Entry::Dir("bin"), Entry::File("bin/busybox", binary, 0755)};
  for (const char* applet :
       {"sh",    "ls",       "cat",      "echo",  "env",   "id",   "sleep", "true",
        "false", "pwd",      "wc",       "touch", "mkdir", "rm",   "test",  "grep",
        "stat",  "readlink", "hostname", "mount", "ps",    "kill", "whoami"}) {
    std::string name = std::string("bin/") + applet;
    out.push_back(hardlinks ? Entry::Hardlink(name, "bin/busybox")
                            : Entry::Symlink(name, "busybox"));
  }
  out.push_back(Entry::Dir("etc"));
  out.push_back(Entry::File("etc/passwd",
                            "root:x:0:0:root:/root:/bin/sh\n"
                            "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"));
  out.push_back(Entry::File("etc/group", "root:x:0:\nnogroup:x:65534:\n"));
  out.push_back(Entry::Dir("tmp", 01777));
  out.push_back(Entry::Dir("root", 0700));
  return out;
}

}  // namespace korc::testing
