// A container's writable root filesystem over an image's read-only root, shared by the
// `process` and `runc` runtimes.
//
// Layout inside a container's directory (all created and removed here):
//   rootfs/   what the container sees as "/" (an overlayfs mount, or a private copy)
//   upper/    overlay upper layer: the container's writes
//   work/     overlay work directory
//   rootfs.copied   marker of a complete private copy (only when overlay is unavailable)
//
// Containers of one image each get their own upper layer, so they never see each other's
// writes, and the image's root is never written.
//
// Thread-safety: the functions are reentrant; calls about different container directories
// may run concurrently. Calls about one directory must not overlap.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace korc::kubelet {

// A root filesystem ready for a container.
struct PreparedRootfs {
  std::string path;      // <container_dir>/rootfs
  bool overlay = false;  // false: a private copy of the image (overlayfs was unavailable)
};

// Mounts overlayfs at <container_dir>/rootfs with lowerdir = image_rootfs and upper/work in
// container_dir, then creates the mount points a runtime needs inside: proc, dev, sys, tmp
// (mode 1777 when created) and each of `extra_dirs` (absolute container paths such as volume
// mount paths and the working directory). Falls back to a private copy of the image when
// overlay cannot be mounted; PreparedRootfs::overlay says which. Idempotent: an already
// prepared root is reused, so a restarted kubelet does not remount under a running container.
//
// Mount points are created by resolving each path component inside the root: symlinks in
// the image are followed as the container would see them (absolute targets are relative to
// the root), and a path that would leave the root through ".." is refused with Invalid.
// Invalid too when a component in the way is not a directory.
// REQUIRES: root (CAP_SYS_ADMIN) for overlay; `image_rootfs` is an existing directory.
Result<PreparedRootfs> PrepareRootfs(const std::string& image_rootfs,
                                     const std::string& container_dir,
                                     const std::vector<std::string>& extra_dirs);

// Creates directory `path` (absolute, as the container sees it) inside `root` with the
// resolution rules of PrepareRootfs, and returns its host path. Exposed for runtimes that
// add mount points later (e.g. a file or volume mount resolved after preparation).
Result<std::string> MakeDirInRoot(const std::string& root, const std::string& path);

// Unmounts <container_dir>/rootfs (lazily when busy) and removes rootfs, upper, work and the
// copy marker. Idempotent: Ok when nothing is there. Refuses (Internal) to delete anything
// while the root is still a mount point, so a failed unmount never deletes through it.
Status ReleaseRootfs(const std::string& container_dir);

}  // namespace korc::kubelet
