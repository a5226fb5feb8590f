#ifndef CSQLITE_H
#define CSQLITE_H
#include <sqlite3.h>

/// Binds text that SQLite copies at once (SQLITE_TRANSIENT is a macro Swift cannot see).
int csqlite_bind_text(sqlite3_stmt *stmt, int index, const char *text, int length);
/// Binds a blob that SQLite copies at once.
int csqlite_bind_blob(sqlite3_stmt *stmt, int index, const void *bytes, int length);
#endif
