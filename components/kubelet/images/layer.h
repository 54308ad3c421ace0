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

#include "core/status.h"

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

// Copies the directory tree `src` into the existing directory `root`, keeping modes,
// numeric ownership (when root), times and symlinks (never followed).
Status CopyTree(const std::string& src, const std::string& root);

// True when the archive is an OCI image layout (holds both `oci-layout` and `index.json`).
Result<bool> IsOciLayoutArchive(const std::string& archive_path);

// "sha256:<hex>" of a file's bytes.
Result<std::string> FileDigest(const std::string& path);

// "sha256:<hex>" over a tree's paths, types, modes, owners, file contents and link targets
// (not times), so the same content imported twice gets the same id.
Result<std::string> TreeDigest(const std::string& root);

// Bytes allocated on disk under `path` (hard links counted once); symlinks are not followed.
int64_t DiskUsage(const std::string& path);

}  // namespace korc::kubelet::images
