// Only linked into the fully static edgeid. libdbus (pulled in by libpcap.a for its D-Bus capture
// support) calls these two libsystemd functions to look for socket-activated file descriptors;
// Debian ships no static libsystemd. edgeid is never socket-activated, so "none" is the truth.
extern "C" {
int sd_listen_fds(int /*unset_environment*/) {
  return 0;
}
int sd_is_socket(int /*fd*/, int /*family*/, int /*type*/, int /*listening*/) {
  return 0;
}
}
