/** A registries.conf v2 with search registries, mirrors (one digest-only), a prefix, a blocked registry, a wildcard and a docker.io cache. */
export const SAMPLE_REGISTRIES_CONF = `unqualified-search-registries = ["quay.io", "docker.io"]

[[registry]]
prefix = "registry.k8s.io"
location = "registry.k8s.io"
[[registry.mirror]]
location = "localhost:5000"
insecure = true
[[registry.mirror]]
location = "mirror.example.com/k8s"
[[registry.mirror]]
location = "digests.example.com"
pull-from-mirror = "digest-only"

[[registry]]
prefix = "example.com/team"
location = "internal.example.com:8443/team-mirror"
insecure = true

[[registry]]
location = "evil.example.org"
blocked = true

[[registry]]
prefix = "*.corp.example"
insecure = true

[[registry]]
prefix = "docker.io"
[[registry.mirror]]
location = "hub-cache.local"
`;
