#ifndef CLIBPQ_H
#define CLIBPQ_H
// Debian puts libpq's headers in /usr/include/postgresql; naming the subdirectory here needs no -I flag
// (libpq-fe.h finds its own neighbours, postgres_ext.h and pg_config_ext.h, by quoted include).
#include <postgresql/libpq-fe.h>

/// Drops the server's notices and warnings (libpq prints them to stderr by default: "NOTICE: relation
/// already exists, skipping", the FATAL an idle connection is told before it is closed).
void clibpq_quiet(PGconn *conn);
#endif
