#ifndef CNCURSESW_H
#define CNCURSESW_H
#define NCURSES_WIDECHAR 1
#define _XOPEN_SOURCE_EXTENDED 1
#include <locale.h>
#include <wchar.h>
#include <ncursesw/curses.h>

/// The standard screen (a macro-backed global Swift cannot see reliably).
WINDOW *cnc_stdscr(void);
/// Current terminal lines and columns.
int cnc_lines(void);
int cnc_cols(void);
/// Number of colours the terminal supports.
int cnc_colors(void);
/// Attribute bits.
attr_t cnc_a_normal(void);
attr_t cnc_a_bold(void);
attr_t cnc_a_reverse(void);
attr_t cnc_a_underline(void);
attr_t cnc_a_dim(void);
/// COLOR_PAIR(n) as attribute bits.
attr_t cnc_color_pair(int n);
/// Sets the locale from the environment so ncursesw speaks UTF-8.
void cnc_setlocale(void);
/// Draws a string of wide characters at (y, x) with the given attributes and colour pair.
int cnc_put(int y, int x, const wchar_t *text, int count, attr_t attrs, short pair);
#endif
