#ifndef CMICROHTTPD_H
#define CMICROHTTPD_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <microhttpd.h>

/// Settings for cmhd_start: what mms-server passes to the variadic MHD_start_daemon.
struct cmhd_config {
    const char *host;            // numeric IPv4/IPv6 address to bind
    uint16_t port;               // 0 takes a free port
    unsigned int connection_limit;
    unsigned int connection_timeout; // seconds of inactivity before a connection is closed
    unsigned int thread_pool_size;   // 0 or 1: one epoll thread
    unsigned int per_ip_connection_limit; // 0: no cap per client address
    const char *tls_cert_pem;    // NULL for plain HTTP
    const char *tls_key_pem;
    const char *log_prefix;      // what libmicrohttpd's diagnostic lines start with, e.g. "mms-server: http"
};

/// Starts a daemon: epoll internal thread(s), suspend/resume allowed, completion callback wired.
/// Returns NULL and fills errbuf on failure.
struct MHD_Daemon *cmhd_start(const struct cmhd_config *config,
                              MHD_AccessHandlerCallback handler, void *handler_cls,
                              MHD_RequestCompletedCallback completed, void *completed_cls,
                              MHD_NotifyConnectionCallback connection_events, void *connection_events_cls,
                              char *errbuf, size_t errlen);

/// The port the daemon listens on (useful with port 0).
uint16_t cmhd_bound_port(struct MHD_Daemon *daemon);

/// The peer address of a connection as text (IPv4 or IPv6), written to buf.
void cmhd_client_address(struct MHD_Connection *connection, char *buf, size_t buflen);

/// The socket of a connection, or -1.
int cmhd_connection_fd(struct MHD_Connection *connection);

/// Raises the soft open-files limit to the hard one; returns the new soft limit.
unsigned long cmhd_raise_nofile_limit(void);
#endif
