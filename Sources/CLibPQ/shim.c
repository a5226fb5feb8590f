#include "CLibPQ.h"

static void clibpq_ignore_notice(void *arg, const char *message) {
    (void)arg;
    (void)message;
}

void clibpq_quiet(PGconn *conn) {
    PQsetNoticeProcessor(conn, clibpq_ignore_notice, NULL);
}
