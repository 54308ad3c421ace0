// OciLayoutBuilder: writes an OCI image layout directory (oci-layout, index.json,
// blobs/sha256/...) from scratch, for image-pull tests. Layers are pax tars written with
// libarchive, digests are OpenSSL sha256; no external tool runs.
//
// Entry paths are written verbatim, so a test can build hostile layers ("../escape",
// "/abs/file", a file below a symlink that points at "/tmp/..."). Everything is
// deterministic (fixed mtimes, no gzip timestamp), so equal input gives equal digests.
//
// Typical use:
//   auto b = OciLayoutBuilder::Create(dir);
//   auto busybox = BusyboxEntries();
//   auto l1 = b->AddLayer(*busybox, Compression::kGzip);
//   auto img = b->AddImage({"linux", "amd64"}, {*l1}, {.cmd = {"/bin/sh"}});
//   b->Write("1", *img);   // then: skopeo copy oci:DIR:1 docker://...
//
// Thread-safety: none; one builder per layout directory.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace korc::testing {

// One tar entry. `link` is the symlink target or the hard link's target path.
struct Entry {
  enum Type { kFile, kDir, kSymlink, kHardlink, kFifo, kCharDev };

  std::string path;
  Type type = kFile;
  std::string content;  // kFile only
  std::string link;     // kSymlink, kHardlink
  mode_t mode = 0644;   // permission bits, including setuid/setgid/sticky
  uid_t uid = 0;
  gid_t gid = 0;
  std::string uname, gname;               // written when non-empty (tests of numeric-id handling)
  unsigned dev_major = 0, dev_minor = 0;  // kCharDev
  int64_t mtime = 1700000000;
  std::map<std::string, std::string> xattrs;  // e.g. {"user.k", "v"} -> SCHILY.xattr.user.k

  static Entry File(std::string path, std::string content, mode_t mode = 0644);
  static Entry Dir(std::string path, mode_t mode = 0755);
  static Entry Symlink(std::string path, std::string target);
  static Entry Hardlink(std::string path, std::string target);
  static Entry Fifo(std::string path, mode_t mode = 0644);
  static Entry CharDev(std::string path, unsigned major, unsigned minor, mode_t mode = 0666);
  // "a/b/name" -> an empty file "a/b/.wh.name": removes "a/b/name" from lower layers.
  static Entry Whiteout(const std::string& path);
  // "a/b" -> "a/b/.wh..wh..opq": hides every lower-layer child of "a/b".
  static Entry Opaque(const std::string& dir);

  Entry& Owner(uid_t u, gid_t g) {
    uid = u;
    gid = g;
    return *this;
  }
};

enum class Compression { kNone, kGzip, kZstd };

inline constexpr char kOciLayerTar[] = "application/vnd.oci.image.layer.v1.tar";
inline constexpr char kOciLayerGzip[] = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr char kOciLayerZstd[] = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr char kOciConfig[] = "application/vnd.oci.image.config.v1+json";
inline constexpr char kOciManifest[] = "application/vnd.oci.image.manifest.v1+json";
inline constexpr char kOciIndex[] = "application/vnd.oci.image.index.v1+json";
inline constexpr char kDockerManifest[] = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr char kDockerManifestList[] =
    "application/vnd.docker.distribution.manifest.list.v2+json";
// The Accept header a puller sends: all four manifest types (see /work/shared/images).
inline constexpr char kAcceptAllManifests[] =
    "application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

struct Platform {
  std::string os = "linux";
  std::string architecture = "amd64";
  std::string variant;  // "v8" for arm64, usually empty
};

// A content descriptor as it appears in manifests and indexes.
struct Descriptor {
  std::string media_type;
  std::string digest;  // "sha256:<hex>"
  int64_t size = 0;
  std::optional<Platform> platform;
  std::map<std::string, std::string> annotations;
};

struct Layer {
  std::string digest;   // of the blob as stored (compressed)
  std::string diff_id;  // sha256 of the uncompressed tar
  int64_t size = 0;     // of the blob as stored
  std::string media_type;
  Descriptor descriptor() const { return {media_type, digest, size}; }
};

struct History {
  std::string created_by;
  bool empty_layer = false;
};

// The image config's interesting fields. Empty fields are left out of the JSON.
struct ImageConfig {
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> env = {
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
  std::string working_dir;
  std::string user;
  // Empty: one history entry per layer. Otherwise written as given (entries with
  // empty_layer=true do not pair with a layer, as in real images).
  std::vector<History> history;
};

class OciLayoutBuilder {
 public:
  // Creates `dir` (and parents) if needed and writes oci-layout into it.
  static Result<OciLayoutBuilder> Create(std::string dir);

  const std::string& dir() const { return dir_; }

  // Writes the entries as a pax tar, compressed as asked, into blobs/.
  Result<Layer> AddLayer(const std::vector<Entry>& entries,
                         Compression compression = Compression::kGzip);
  // Stores arbitrary bytes as a blob; returns its digest.
  Result<std::string> AddBlob(const std::string& bytes);

  // Writes the config blob and the OCI image manifest; returns the manifest's descriptor
  // carrying `platform` (for use in an index).
  Result<Descriptor> AddImage(const Platform& platform, const std::vector<Layer>& layers,
                              const ImageConfig& config = {});
  // A BuildKit-style attestation manifest (platform unknown/unknown, in-toto layer,
  // annotations vnd.docker.reference.type/digest) for `subject`. Pullers must skip it.
  Result<Descriptor> AddAttestation(const Descriptor& subject);
  // Writes an OCI image index listing `manifests` in the order given (platforms kept).
  Result<Descriptor> AddIndex(const std::vector<Descriptor>& manifests);

  // Points tag `tag` in index.json at `top` (a manifest or an index) and rewrites
  // index.json; the tag becomes annotation org.opencontainers.image.ref.name. Earlier tags
  // stay; writing an existing tag replaces it.
  Status Write(const std::string& tag, const Descriptor& top);

  // Path of a blob's file in this layout, and its bytes.
  std::string BlobPath(const std::string& digest) const;
  Result<std::string> ReadBlob(const std::string& digest) const;
  // Flips one byte in the middle of the blob's file; its name (digest) stays, so a
  // consumer that verifies digests must notice.
  Status CorruptBlob(const std::string& digest);

 private:
  explicit OciLayoutBuilder(std::string dir) : dir_(std::move(dir)) {}

  std::string dir_;
  std::vector<std::pair<std::string, Descriptor>> tags_;  // index.json, in tag order
};

// "sha256:<hex>" of `bytes`.
std::string Sha256Digest(const std::string& bytes);

// Flips one byte in the middle of the file at `path` (e.g. a registry's blob data file).
Status CorruptFile(const std::string& path);

// The host's static busybox (/bin/busybox or /usr/bin/busybox, refused unless statically
// linked), as the entries of one layer:
//   bin/ busybox (0755) plus sh, ls, cat, echo, env, id, sleep, true, false, pwd, wc,
//   touch, mkdir, rm, test, grep, stat, readlink, hostname, mount, ps, kill, whoami
//   (symlinks to "busybox", or hard links to "bin/busybox" when `hardlinks`);
//   etc/passwd (root 0, nobody 65534), etc/group (root 0, nogroup 65534), tmp/ (1777),
//   root/ (0700).
Result<std::vector<Entry>> BusyboxEntries(bool hardlinks = false);
// Where the host's busybox is, or NotFound.
Result<std::string> FindStaticBusybox();

}  // namespace korc::testing
