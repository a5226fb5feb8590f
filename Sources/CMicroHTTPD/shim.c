#include "CMicroHTTPD.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/resource.h>
#include <pthread.h>
#include <time.h>

// libmicrohttpd's own diagnostics go to stderr, one line each, at most one a second per kind of message
// (a client refused at the connection cap is one line per attempt: an attack must not flood the log).
#define CMHD_LOG_KINDS 16
static struct { const char *fmt; time_t second; unsigned long suppressed; } cmhd_log_kinds[CMHD_LOG_KINDS];
static pthread_mutex_t cmhd_log_lock = PTHREAD_MUTEX_INITIALIZER;

static void cmhd_log(void *cls, const char *fmt, va_list ap) {
    const char *prefix = cls ? (const char *)cls : "mms-server: http";
    time_t now = time(NULL);
    unsigned long suppressed = 0;
    pthread_mutex_lock(&cmhd_log_lock);
    int slot = -1, oldest = 0;
    for (int i = 0; i < CMHD_LOG_KINDS; i++) {
        if (cmhd_log_kinds[i].fmt == fmt) { slot = i; break; }
        if (cmhd_log_kinds[i].second < cmhd_log_kinds[oldest].second) oldest = i;
    }
    if (slot >= 0 && cmhd_log_kinds[slot].second == now) {
        cmhd_log_kinds[slot].suppressed++;
        pthread_mutex_unlock(&cmhd_log_lock);
        return;
    }
    if (slot < 0) {
        slot = oldest;
        cmhd_log_kinds[slot].fmt = fmt;
        cmhd_log_kinds[slot].suppressed = 0;
    }
    suppressed = cmhd_log_kinds[slot].suppressed;
    cmhd_log_kinds[slot].suppressed = 0;
    cmhd_log_kinds[slot].second = now;
    pthread_mutex_unlock(&cmhd_log_lock);

    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && line[n - 1] == '\n') line[--n] = 0;
    if (suppressed) fprintf(stderr, "%s: %s (%lu more like it since the last such line)\n", prefix, line, suppressed);
    else fprintf(stderr, "%s: %s\n", prefix, line);
}

struct MHD_Daemon *cmhd_start(const struct cmhd_config *c,
                              MHD_AccessHandlerCallback handler, void *handler_cls,
                              MHD_RequestCompletedCallback completed, void *completed_cls,
                              MHD_NotifyConnectionCallback connection_events, void *connection_events_cls,
                              char *errbuf, size_t errlen) {
    struct sockaddr_storage addr;
    memset(&addr, 0, sizeof addr);
    unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&addr;
    if (inet_pton(AF_INET, c->host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(c->port);
    } else if (inet_pton(AF_INET6, c->host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(c->port);
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(errbuf, errlen, "--host %s is not a numeric IPv4 or IPv6 address", c->host);
        return NULL;
    }
    if (c->tls_cert_pem) flags |= MHD_USE_TLS;
    unsigned int pool = c->thread_pool_size > 1 ? c->thread_pool_size : 0;
    // One option list for plain and TLS daemons (MHD_OPTION_ARRAY), the logger first as MHD asks.
    struct MHD_OptionItem opts[14];
    int n = 0;
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &addr};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, c->connection_limit, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, c->connection_timeout, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, 16 * 1024, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, pool, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, completed_cls};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT, c->per_ip_connection_limit, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)connection_events, connection_events_cls};
    if (c->tls_cert_pem) {
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)c->tls_cert_pem};
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)c->tls_key_pem};
    }
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    errno = 0;
    struct MHD_Daemon *d = MHD_start_daemon(flags, c->port, NULL, NULL, handler, handler_cls,
                                            MHD_OPTION_EXTERNAL_LOGGER, cmhd_log, (void *)c->log_prefix,
                                            MHD_OPTION_ARRAY, opts,
                                            MHD_OPTION_END);
    if (!d) {
        snprintf(errbuf, errlen, "cannot listen on %s port %u: %s", c->host, (unsigned)c->port,
                 errno ? strerror(errno) : "libmicrohttpd refused the settings");
    }
    return d;
}

uint16_t cmhd_bound_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
}

void cmhd_client_address(struct MHD_Connection *connection, char *buf, size_t buflen) {
    buf[0] = 0;
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!info || !info->client_addr) return;
    const struct sockaddr *sa = info->client_addr;
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)buflen);
    } else if (sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, (socklen_t)buflen);
    }
}

int cmhd_connection_fd(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    return info ? info->connect_fd : -1;
}

unsigned long cmhd_raise_nofile_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return (unsigned long)rl.rlim_cur;
}
