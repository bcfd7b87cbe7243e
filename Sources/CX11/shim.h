// C shim for Xlib, MIT-SHM (libXext), XTest and RECORD (libXtst) and RandR (libXrandr).
// Swift cannot see function-like or cast macros, nor call variadic functions: each one this
// project needs is wrapped here, once, with the `cx11_` prefix.
#ifndef CX11_SHIM_H
#define CX11_SHIM_H

#define XUTIL_DEFINE_FUNCTIONS 1 // XDestroyImage, XGetPixel, ... as real functions
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <X11/Xatom.h>
#include <X11/keysym.h>
#include <X11/XKBlib.h>
#include <X11/extensions/XShm.h>
#include <X11/extensions/XTest.h>
#include <X11/extensions/record.h>
#include <X11/Xproto.h>
#include <X11/extensions/Xrandr.h>
#include <sys/ipc.h>
#include <sys/shm.h>

/// `AllPlanes`, a cast macro.
static const unsigned long cx11_all_planes = AllPlanes;

/// Modifier masks (`ShiftMask`, ...) as one typed family.
typedef enum __attribute__((flag_enum, enum_extensibility(open))) CX11ModifierMask : unsigned int {
    CX11ModifierMaskShift = ShiftMask,
    CX11ModifierMaskLock = LockMask,
    CX11ModifierMaskControl = ControlMask,
    CX11ModifierMaskMod1 = Mod1Mask,
    CX11ModifierMaskMod2 = Mod2Mask,
    CX11ModifierMaskMod3 = Mod3Mask,
    CX11ModifierMaskMod4 = Mod4Mask,
    CX11ModifierMaskMod5 = Mod5Mask,
    CX11ModifierMaskButton1 = Button1Mask,
    CX11ModifierMaskButton2 = Button2Mask,
    CX11ModifierMaskButton3 = Button3Mask,
} CX11ModifierMask;

/// Event masks for `XSelectInput`.
static const long cx11_fixture_event_mask = ExposureMask | KeyPressMask | KeyReleaseMask | ButtonPressMask
    | ButtonReleaseMask | PointerMotionMask | StructureNotifyMask | FocusChangeMask;
static const long cx11_button_event_mask = ButtonPressMask | ButtonReleaseMask | ExposureMask | StructureNotifyMask;

/// `XCreateIC` is variadic: an input context for UTF-8 key lookup on `window`, no preedit, no status.
static inline XIC cx11_create_input_context(XIM im, Window window) {
    return XCreateIC(im, XNInputStyle, XIMPreeditNothing | XIMStatusNothing, XNClientWindow, window,
                     XNFocusWindow, window, NULL);
}

/// `XRecordAllClients`, a macro, for the RECORD extension.
static const XRecordClientSpec cx11_record_all_clients = XRecordAllClients;

#endif
