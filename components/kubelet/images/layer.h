// Unpacking archives and directory trees into a root filesystem, safely.
//
// Shared by ImageStore::Import and, later, a registry puller: both land blobs on disk and
// apply them here. Every writer runs libarchive with ARCHIVE_EXTRACT_SECURE_NODOTDOT |
// SECURE_SYMLINKS | SECURE_NOABSOLUTEPATHS from a thread whose working directory (unshared
// with CLONE_FS) is the target root, so entry paths stay relative and nothing is written
// outside the root, whatever the archive says. Entries with an absolute path or a ".."
// component are refused before libarchive sees them.
//
// Thread-safety: free functions; safe to call concurrently (each uses its own thread's cwd).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace korc::kubelet::images {

enum class LayerFormat {
  kRootfs,    // a plain tree: every entry is extracted as it is
  kOciLayer,  // an OCI layer: `.wh.NAME` deletes NAME, `.wh..wh..opq` empties its directory
};

// Extracts the archive at `archive_path` (any format and compression libarchive reads) into
// the existing directory `root`. Invalid naming the file and the entry for hostile or
// unreadable input; on error `root` may hold part of the archive (callers unpack into a
// temporary directory).
Status ExtractArchive(const std::string& archive_path, const std::string& root, LayerFormat format);

// Applies one image layer blob onto `root`, in place: a tar, plain or compressed (gzip,
// zstd, ... found by the magic bytes), with OCI whiteouts. The uncompressed stream is hashed
// as it is read and must equal `diff_id` (the image config's rootfs.diff_ids entry);
// Corruption otherwise. Numeric owners (as root), modes, times, xattrs (except trusted.*) and
// hard links are kept; device nodes are made only by real root outside a user namespace and
// skipped otherwise. On error `root` may hold part of the layer.
Status ApplyLayer(const std::string& blob_path, const std::string& root,
                  const std::string& diff_id);

// Copies the directory tree `src` into the existing directory `root`, keeping modes,
// numeric ownership (when root), times and symlinks (never followed).
Status CopyTree(const std::string& src, const std::string& root);

// True when the archive is an OCI image layout (holds both `oci-layout` and `index.json`).
Result<bool> IsOciLayoutArchive(const std::string& archive_path);

// An incremental sha256, "sha256:<hex>" at the end.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(const void* data, size_t n);
  void Update(std::string_view s) { Update(s.data(), s.size()); }
  std::string Finish();

 private:
  ::evp_md_ctx_st* ctx_;
};
std::string Sha256Of(std::string_view data);

// "sha256:<hex>" of a file's bytes.
Result<std::string> FileDigest(const std::string& path);

// "sha256:<hex>" over a tree's paths, types, modes, owners, file contents and link targets
// (not times), so the same content imported twice gets the same id.
Result<std::string> TreeDigest(const std::string& root);

// Bytes allocated on disk under `path` (hard links counted once); symlinks are not followed.
int64_t DiskUsage(const std::string& path);

}  // namespace korc::kubelet::images
