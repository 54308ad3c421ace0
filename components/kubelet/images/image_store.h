// The node's image store: named references -> unpacked root filesystems, on disk.
//
// Read this header first; layer.h holds the extraction code, puller.h fills the store from
// registries.
//
// Layout of the store directory (persisted; later korc versions must read it):
//   index.json              {"version":1,"tags":{"<normalized reference>":"sha256:<hex>"}}
//   images/<hex>/rootfs/    the unpacked root filesystem (read-only by convention)
//   images/<hex>/image.json {"id","config","size_bytes","created_ns","blobs":[...],
//                            "repo_digests":["<repository>@sha256:<manifest>",...]}
//   blobs/sha256/<hex>      content-addressed OCI blobs (manifests, configs, layers)
//   downloads/<hex>         blobs being pulled (verified, then moved into a staging dir);
//                           kept across restarts so a pull resumes where it stopped
//   pins/<holder>/<hex>     images a holder (a Pod's sandbox) runs from: kept, even untagged,
//                           until the holder lets go
//   tmp/<pid>-<n>/          imports and pulls in progress ("staging": rootfs/, blobs/);
//                           renamed into images/ only when complete
//   .lock                   flock(2) taken by every change, so `korc image` and a running
//                           node can share one directory
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace korc::kubelet::images {

// What the OCI image config says about running the image; empty for plain rootfs imports.
struct ImageConfig {
  std::vector<std::string> entrypoint, cmd, env;  // env "K=V"
  std::string working_dir, user;
};

struct Image {
  std::string reference;  // normalized: "docker.io/library/busybox:latest"
  std::string id;         // "sha256:<hex>": digest of the OCI config, or of the imported tree
  std::string rootfs;     // absolute path of the unpacked root filesystem (read-only)
  ImageConfig config;
  int64_t size_bytes = 0;  // bytes on disk of the unpacked root
  int64_t created_ns = 0;  // when this id was first imported on this node
  // "127.0.0.1:5000/busybox@sha256:<manifest digest>" for each repository it was pulled
  // from: what Kubernetes shows as a container's imageID.
  std::vector<std::string> repo_digests;
};

// The run settings of an OCI / Docker image config document (its "config" object);
// Invalid when it is not a JSON object.
Result<ImageConfig> ParseImageConfig(std::string_view config_json);

// "busybox" -> "docker.io/library/busybox:latest"; "localhost:5000/x/y:1" kept;
// "name@sha256:..." kept (no default tag is added to a digest reference). Invalid, naming the
// problem, for references Docker would refuse (uppercase repository, empty, bad tag...).
Result<std::string> NormalizeReference(std::string_view ref);

// "docker.io/library/busybox:latest" -> "busybox:latest": how `korc image ls` and kubectl
// show a reference. Anything not under docker.io is returned unchanged.
std::string FamiliarReference(std::string_view normalized);

// A content-addressed store of unpacked images in one directory.
//
// Thread-safety: all methods may be called concurrently. Unpacking runs without holding the
// store's lock; only the final rename and the index update are serialized (in-process by
// mu_, across processes by flock on <dir>/.lock). One instance per directory per process.
// Lifetimes: Image::rootfs paths stay valid until the image's last tag is removed.
class ImageStore {
 public:
  // Creates `dir` (and its subfolders) when missing, and deletes the leftovers of imports
  // whose process died.
  static Result<std::unique_ptr<ImageStore>> Open(std::string dir);

  // Imports PATH under `reference`: a directory (copied), a root filesystem tarball (.tar,
  // .tar.gz, anything libarchive reads), or an OCI image layout tarball (oci-layout +
  // index.json; the manifest for linux/amd64 or the only one; its layers applied in order
  // with whiteouts). Re-importing a reference replaces what it points to. A failed import
  // leaves nothing visible. Entries that would land outside the root are refused.
  Result<Image> Import(std::string_view reference, std::string_view path);

  // NotFound, saying how to get the image, when no tag matches. A reference with a digest
  // also matches an image pulled by tag whose manifest had that digest.
  Result<Image> Get(std::string_view reference) const;
  // The stored image with this id (reference left empty); NotFound when there is none.
  Result<Image> GetById(const std::string& id) const;

  // For the puller. A staging directory under tmp/ with rootfs/ and blobs/ inside; the
  // caller removes it unless CommitStaged moved it into images/.
  Result<std::string> NewStaging();
  // Hard-links stored blob `digest` into `staging`/blobs/, so it stays usable even if the
  // image that brought it is removed meanwhile. False when the store does not have it.
  bool LinkBlob(const std::string& digest, const std::string& staging);
  // Where a download of `digest` lives while it is in progress.
  std::string DownloadPath(const std::string& digest) const;
  // Makes the staged image visible as `id` under `reference` (moving staging/rootfs and its
  // blobs in, unless the id is stored already) and records `repo_digest` (may be "").
  Result<Image> CommitStaged(std::string_view reference, const std::string& staging,
                             const std::string& id, const ImageConfig& config,
                             const std::vector<std::string>& blobs, const std::string& repo_digest);
  // Points `reference` at the stored image `id` and records `repo_digest`. NotFound when
  // the id is not stored.
  Result<Image> Tag(std::string_view reference, const std::string& id,
                    const std::string& repo_digest);
  // A holder (a Pod's sandbox id) runs containers from image `id`: while it holds it, removing
  // or re-pointing the image's last tag leaves the root in place (untagged, not listed) for
  // the containers' overlays; the last Unpin deletes it.
  Status Pin(const std::string& id, const std::string& holder);
  void Unpin(const std::string& holder);
  // Drops the pins of holders not in `holders` (sandboxes gone while the node was away).
  void RetainPins(const std::set<std::string>& holders);

  // Deletes what no tag needs: blobs no image lists, downloads no pull is writing (older
  // than `download_age`), leftovers in tmp/. Returns the bytes freed.
  Result<int64_t> Prune(std::chrono::seconds download_age = std::chrono::hours(24));
  // Every tag, sorted by reference.
  Result<std::vector<Image>> List() const;
  // Removes the tag; the unpacked root (and blobs only it used) when no tag points at it.
  Status Remove(std::string_view reference);

  // Bytes on disk of everything in the store (roots and blobs).
  int64_t DiskUsageBytes() const;

  const std::string& dir() const { return dir_; }

 private:
  explicit ImageStore(std::string dir) : dir_(std::move(dir)) {}

  // Moves a finished import from tmp/ into images/<hex> and points `reference` at it.
  Result<Image> Commit(const std::string& reference, const std::string& tmp_dir,
                       const std::string& id, const std::string& repo_digest = "");
  // Deletes images/<hex> and blobs only it used, unless a holder pins it. REQUIRES: mu_ and
  // the file lock held, and no tag pointing at `id`.
  void DeleteImageLocked(const std::string& id);
  bool PinnedLocked(const std::string& hex) const;
  // Deletes the images no tag names and no holder pins. REQUIRES: mu_ and the file lock.
  void DeleteUnusedLocked();
  Result<Image> LoadImage(const std::string& reference, const std::string& id) const;
  Result<std::string> NewTempDir();

  const std::string dir_;  // absolute, canonical
  // Serializes changes within this process (flock serializes across processes).
  mutable std::mutex mu_;
};

}  // namespace korc::kubelet::images
