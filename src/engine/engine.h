/* What every part of the engine shares: its exit status and its state root. */
#ifndef ISOLA_ENGINE_ENGINE_H
#define ISOLA_ENGINE_ENGINE_H

/* Docker's convention: 125 when the engine itself fails. */
#define EXIT_ENGINE 125

/* --root: the state directory (container records, images, volumes). */
extern const char *engine_root;

#endif
