// Which registry credentials go with an image: the kubelet's keyring over Pod pull secrets.
//
// A `kubernetes.io/dockerconfigjson` secret holds {"auths": {"<key>": {"username",
// "password"} or {"auth": base64("user:pass")}}}; `kubernetes.io/dockercfg` the same map
// without "auths". A key matches an image as Kubernetes' keyring matches it: its host
// (globs per label, "*.example.com"), an equal port, and its path a prefix of the
// repository's; "https://index.docker.io/v1/" and the other Docker Hub spellings mean
// docker.io. Matches come most specific first, secret by secret in the Pod's order.
#pragma once

#include <string>
#include <vector>

#include "components/kubelet/images/registry.h"

namespace korc::kubelet::images {

// `docker_configs`: each secret's .dockerconfigjson (or .dockercfg) document. Entries that
// do not parse are skipped (the API server validated them when they were written).
std::vector<Credential> CredentialsFor(const ImageName& name,
                                       const std::vector<std::string>& docker_configs);

}  // namespace korc::kubelet::images
