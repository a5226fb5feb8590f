#ifndef CCURL_H
#define CCURL_H
#include <stddef.h>
#include <curl/curl.h>

/// A body or header sink: libcurl's write callback shape.
typedef size_t (*ccurl_sink)(char *data, size_t size, size_t count, void *context);

/// One request as mms-server sends it to a push agent.
struct ccurl_request {
    const char *method;          // GET, POST, ...
    const char *url;
    struct curl_slist *headers;  // may be NULL
    const char *body;            // NULL: no body
    size_t body_len;
    long timeout_ms;             // whole transfer
    long connect_timeout_ms;
    const char *ca_pem;          // NULL: the system store; else trust this PEM (CURLOPT_CAINFO_BLOB)
    size_t ca_pem_len;
};

/// Sets every option of `r` on a (reset) easy handle: the variadic curl_easy_setopt is not callable from Swift.
/// Redirects are not followed, only http and https are allowed, and signals are not used (threads).
CURLcode ccurl_prepare(CURL *handle, const struct ccurl_request *r, ccurl_sink body, void *body_context,
                       ccurl_sink header, void *header_context, char *errbuf);

/// The HTTP status of the last transfer on `handle` (0 when none).
long ccurl_status(CURL *handle);
#endif
