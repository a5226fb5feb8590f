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

/// Starts full-screen mode: locale, initscr, raw keys, no echo, keypad, Esc after 25 ms, hidden cursor.
/// Returns 1 when colours can be used (the terminal has them and `want_colour` is set), else 0.
int cnc_start(int want_colour);
/// Leaves full-screen mode and restores the terminal (safe to call twice).
void cnc_stop(void);
/// Installs handlers for crash signals (SEGV, BUS, ILL, TRAP, ABRT, FPE) that restore the terminal first.
void cnc_install_crash_restore(void);

/// Key codes cnc_read_key returns besides Unicode characters (which are >= 0).
enum {
    CNC_KEY_NONE = -1, CNC_KEY_UP = -2, CNC_KEY_DOWN = -3, CNC_KEY_LEFT = -4, CNC_KEY_RIGHT = -5,
    CNC_KEY_PGUP = -6, CNC_KEY_PGDN = -7, CNC_KEY_HOME = -8, CNC_KEY_END = -9, CNC_KEY_ENTER = -10,
    CNC_KEY_BACKSPACE = -11, CNC_KEY_DELETE = -12, CNC_KEY_BTAB = -13, CNC_KEY_RESIZE = -14, CNC_KEY_OTHER = -15,
    CNC_KEY_MOUSE = -16
};
/// What the last CNC_KEY_MOUSE was: a click, a double click, or the wheel.
enum { CNC_MOUSE_CLICK = 1, CNC_MOUSE_DOUBLE = 2, CNC_MOUSE_WHEEL_UP = 3, CNC_MOUSE_WHEEL_DOWN = 4 };
/// Reports clicks, double clicks and the wheel as CNC_KEY_MOUSE (the terminal's own selection then needs Shift).
void cnc_enable_mouse(void);
/// The last mouse event: its kind (CNC_MOUSE_…), column and row.
int cnc_mouse_kind(void);
int cnc_mouse_x(void);
int cnc_mouse_y(void);
/// Rings the terminal bell.
void cnc_beep(void);
/// Writes raw bytes to the terminal (an OSC 52 clipboard sequence), outside ncurses' picture of the screen.
void cnc_write_raw(const char *bytes, int count);
/// Waits up to `timeout_ms` for a key; returns a Unicode character or one of the CNC_KEY_ codes.
int cnc_read_key(int timeout_ms);
/// Defines colour pair `n` (fg/bg -1 = terminal default).
void cnc_init_pair(short n, short fg, short bg);
/// Clears the whole screen on the next refresh (after a resize).
void cnc_clear(void);
/// Sends what was drawn to the terminal.
void cnc_refresh(void);
#endif
