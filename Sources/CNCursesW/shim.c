#include "CNCursesW.h"

WINDOW *cnc_stdscr(void) { return stdscr; }
int cnc_lines(void) { return LINES; }
int cnc_cols(void) { return COLS; }
int cnc_colors(void) { return COLORS; }
attr_t cnc_a_normal(void) { return A_NORMAL; }
attr_t cnc_a_bold(void) { return A_BOLD; }
attr_t cnc_a_reverse(void) { return A_REVERSE; }
attr_t cnc_a_underline(void) { return A_UNDERLINE; }
attr_t cnc_a_dim(void) { return A_DIM; }
attr_t cnc_color_pair(int n) { return COLOR_PAIR(n); }
void cnc_setlocale(void) { setlocale(LC_ALL, ""); }

int cnc_put(int y, int x, const wchar_t *text, int count, attr_t attrs, short pair) {
    if (attr_set(attrs, pair, NULL) == ERR) return ERR;
    return mvaddnwstr(y, x, text, count);
}
