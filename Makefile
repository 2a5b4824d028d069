# The front door.  The real work is in scripts/ and meson.build.
BUILD     ?= build
SAN_BUILD ?= build-san
DESTDIR   ?=

.PHONY: all build deps demo check bench install clean

all: build

build:
	@scripts/build $(BUILD) release

deps:
	@scripts/deps

demo: deps
	@scripts/build $(BUILD) release
	@scripts/demo $(BUILD)

check: deps
	@scripts/check

bench: deps build
	@bench/run $(BUILD)

install: build
	@meson install -C $(BUILD) --no-rebuild --quiet $(if $(DESTDIR),--destdir "$(abspath $(DESTDIR))")

clean:
	rm -rf $(BUILD) $(SAN_BUILD)
