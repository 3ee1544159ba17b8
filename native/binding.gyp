# Two targets: the N-API addon (berth_native.node) and the pod pause executable (pause).
# `npm run build:native` = `node-gyp rebuild --directory native`; outputs land in build/Release/.
{
  "targets": [
    {
      "target_name": "berth_native",
      "sources": [
        "src/addon.cc",
        "src/errors.cc",
        "src/fs-ops.cc",
        "src/xattr-ops.cc",
        "src/start-pause.cc",
        "src/pause-launcher.cc",
        "src/pause-steps.cc",
        "src/device-filter.cc",
        "src/watch-exit.cc",
        "src/spawn-process.cc",
        "src/memory-ops.cc",
        "src/connect-in-netns.cc",
        "src/terminal-ops.cc",
        "src/seqpacket.cc",
        "src/idmap-ops.cc",
        "src/container-exec.cc",
        "src/seccomp-filters.cc",
        "src/create-netns.cc",
        "src/sealed-copy.cc"
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    },
    {
      "target_name": "pause",
      "type": "executable",
      "sources": ["pause.c"],
      "cflags": ["-Os", "-Wall", "-Wextra"],
      "ldflags": ["-static"]
    }
  ]
}
