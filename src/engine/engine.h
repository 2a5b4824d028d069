/* What the engine's command files share. */
#ifndef ISOLA_ENGINE_ENGINE_H
#define ISOLA_ENGINE_ENGINE_H

/* Docker's convention: 125 when the engine itself fails. */
#define EXIT_ENGINE 125

extern const char *engine_root;



#endif
