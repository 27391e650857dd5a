{
  "targets": [
    {
      "target_name": "wharf_sendfile",
      "sources": ["native/sendfile.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [["OS!='linux'", {"type": "none", "sources!": ["native/sendfile.c"]}]]
    },
    {
      "target_name": "wharf_mount",
      "sources": ["native/mount.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [["OS!='linux'", {"type": "none", "sources!": ["native/mount.c"]}]]
    },
    {
      "target_name": "wharf_spawn",
      "sources": ["native/spawn.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "ldflags": ["-Wl,-z,now"],
      "conditions": [["OS!='linux'", {"type": "none", "sources!": ["native/spawn.c"]}]]
    },
    {
      "target_name": "wharf_netlink",
      "sources": ["native/netlink.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "ldflags": ["-Wl,-z,now", "-pthread"],
      "conditions": [["OS!='linux'", {"type": "none", "sources!": ["native/netlink.c"]}]]
    },
    {
      "target_name": "wharf_digest",
      "sources": ["native/digest.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "ldflags": ["-Wl,-z,now"],
      "conditions": [["OS!='linux' or node_use_openssl!='true'", {"type": "none", "sources!": ["native/digest.c"]}]]
    }
  ]
}
