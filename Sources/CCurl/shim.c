#include "CCurl.h"
#include <string.h>

CURLcode ccurl_prepare(CURL *h, const struct ccurl_request *r, ccurl_sink body, void *body_context,
                       ccurl_sink header, void *header_context, char *errbuf) {
    CURLcode rc = CURLE_OK;
#define SET(opt, value) do { rc = curl_easy_setopt(h, opt, value); if (rc != CURLE_OK) return rc; } while (0)
    SET(CURLOPT_ERRORBUFFER, errbuf);
    SET(CURLOPT_URL, r->url);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_TIMEOUT_MS, r->timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, r->connect_timeout_ms);
    SET(CURLOPT_TCP_NODELAY, 1L);
    SET(CURLOPT_WRITEFUNCTION, body);
    SET(CURLOPT_WRITEDATA, body_context);
    SET(CURLOPT_HEADERFUNCTION, header);
    SET(CURLOPT_HEADERDATA, header_context);
    if (r->headers) SET(CURLOPT_HTTPHEADER, r->headers);
    if (r->ca_pem) {
        struct curl_blob blob = { (void *)r->ca_pem, r->ca_pem_len, CURL_BLOB_COPY };
        SET(CURLOPT_CAINFO_BLOB, &blob);
    }
    if (strcmp(r->method, "GET") == 0) {
        SET(CURLOPT_HTTPGET, 1L);
    } else if (strcmp(r->method, "POST") == 0) {
        SET(CURLOPT_POST, 1L);
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(r->body ? r->body_len : 0));
        SET(CURLOPT_COPYPOSTFIELDS, r->body ? r->body : "");
    } else {
        SET(CURLOPT_CUSTOMREQUEST, r->method);
    }
#undef SET
    return rc;
}

long ccurl_status(CURL *h) {
    long status = 0;
    if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) return 0;
    return status;
}
