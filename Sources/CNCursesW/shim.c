#include "CNCursesW.h"
#include <signal.h>
#include <string.h>
#include <unistd.h>

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

static volatile sig_atomic_t cnc_active = 0;

int cnc_start(int want_colour) {
    setlocale(LC_ALL, "");
    /* newterm, unlike initscr, returns NULL instead of exiting when TERM is unknown. */
    SCREEN *screen = newterm(NULL, stdout, stdin);
    if (screen == NULL) return -1;
    set_term(screen);
    cnc_active = 1;
    raw();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    leaveok(stdscr, TRUE);
    scrollok(stdscr, FALSE);
    if (want_colour && has_colors()) {
        start_color();
        use_default_colors();
        return 1;
    }
    return 0;
}

void cnc_stop(void) {
    if (!cnc_active) return;
    cnc_active = 0;
    curs_set(1);
    endwin();
}

static void cnc_crash(int sig) {
    if (cnc_active) {
        cnc_active = 0;
        endwin(); /* best effort: the process is going down anyway */
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

void cnc_install_crash_restore(void) {
    int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGABRT, SIGFPE};
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = cnc_crash;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESETHAND;
        sigaction(sigs[i], &sa, NULL);
    }
}

static int cnc_mkind = 0, cnc_mx = 0, cnc_my = 0;

void cnc_enable_mouse(void) {
    mousemask(BUTTON1_CLICKED | BUTTON1_DOUBLE_CLICKED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
    mouseinterval(300);
}

int cnc_mouse_kind(void) { return cnc_mkind; }
int cnc_mouse_x(void) { return cnc_mx; }
int cnc_mouse_y(void) { return cnc_my; }

/* Reads the pending mouse event into the cnc_m* fields; CNC_KEY_MOUSE when it is one the console uses. */
static int cnc_take_mouse(void) {
    MEVENT ev;
    if (getmouse(&ev) != OK) return CNC_KEY_OTHER;
    cnc_mx = ev.x;
    cnc_my = ev.y;
    if (ev.bstate & BUTTON1_DOUBLE_CLICKED) cnc_mkind = CNC_MOUSE_DOUBLE;
    else if (ev.bstate & BUTTON1_CLICKED) cnc_mkind = CNC_MOUSE_CLICK;
    else if (ev.bstate & BUTTON4_PRESSED) cnc_mkind = CNC_MOUSE_WHEEL_UP;
    else if (ev.bstate & BUTTON5_PRESSED) cnc_mkind = CNC_MOUSE_WHEEL_DOWN;
    else return CNC_KEY_OTHER;
    return CNC_KEY_MOUSE;
}


void cnc_write_raw(const char *bytes, int count) {
    fflush(stdout);
    ssize_t off = 0;
    while (off < count) {
        ssize_t n = write(STDOUT_FILENO, bytes + off, (size_t)(count - off));
        if (n <= 0) break;
        off += n;
    }
}

/* The BEL byte itself: beep() may flash instead, or do nothing, depending on the terminfo entry. */
void cnc_beep(void) { cnc_write_raw("\a", 1); }

int cnc_read_key(int timeout_ms) {
    wint_t ch = 0;
    timeout(timeout_ms);
    int r = get_wch(&ch);
    if (r == ERR) return CNC_KEY_NONE;
    if (r == KEY_CODE_YES) {
        switch (ch) {
        case KEY_UP: return CNC_KEY_UP;
        case KEY_DOWN: return CNC_KEY_DOWN;
        case KEY_LEFT: return CNC_KEY_LEFT;
        case KEY_RIGHT: return CNC_KEY_RIGHT;
        case KEY_PPAGE: return CNC_KEY_PGUP;
        case KEY_NPAGE: return CNC_KEY_PGDN;
        case KEY_HOME: case KEY_FIND: case KEY_A1: return CNC_KEY_HOME;
        case KEY_END: case KEY_SELECT: case KEY_C1: return CNC_KEY_END;
        case KEY_ENTER: return CNC_KEY_ENTER;
        case KEY_BACKSPACE: return CNC_KEY_BACKSPACE;
        case KEY_DC: return CNC_KEY_DELETE;
        case KEY_BTAB: return CNC_KEY_BTAB;
        case KEY_RESIZE: return CNC_KEY_RESIZE;
        case KEY_MOUSE: return cnc_take_mouse();
        default: return CNC_KEY_OTHER;
        }
    }
    return (int)ch;
}

void cnc_init_pair(short n, short fg, short bg) { init_pair(n, fg, bg); }
void cnc_clear(void) { clearok(stdscr, TRUE); }
void cnc_refresh(void) { refresh(); }
