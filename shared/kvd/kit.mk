# kit.mk - kvd (the course's key-value server) and the RESP client library.
# Included by the top-level Makefile; chapters link these objects:
#   KVD_T_OBJ  kvd + resp for tests (unoptimised, -g): NN_TEST_DEPS
#   KVD_B_OBJ  the same, optimised: NN_BENCH_DEPS
#   KVD_BIN    the kvd command (kvd --help)
# and `make kvd` builds the command and kvd's own tests
# (build/kvd/tests; shared/kvd/check.sh runs them).

KVD_DIR := shared/kvd
KVD_B := $(KIT_B)/kvd
KVD_LIB_SRC := kvd_server.c kvd_control.c kvd_conn.c kvd_spawn.c kvd_req.c \
               kvd_out.c kvd_cmd.c kvd_store.c resp.c resp_parse.c wire.c
KVD_T_OBJ := $(patsubst %.c,$(KVD_B)/t/%.o,$(KVD_LIB_SRC))
KVD_B_OBJ := $(patsubst %.c,$(KVD_B)/b/%.o,$(KVD_LIB_SRC))
KVD_BIN := $(KVD_B)/kvd
KVD_TESTS := $(KVD_B)/tests
KVD_TEST_OBJ := $(patsubst $(KVD_DIR)/tests/%.c,$(KVD_B)/tests.o/%.o,\
                  $(sort $(wildcard $(KVD_DIR)/tests/*.c)))

$(KVD_B)/t/%.o: $(KVD_DIR)/%.c
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D) && $(CC) $(BASE_CPPFLAGS) $(TEST_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(KVD_B)/b/%.o: $(KVD_DIR)/%.c
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D) && $(CC) $(BASE_CPPFLAGS) $(BENCH_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(KVD_B)/tests.o/%.o: $(KVD_DIR)/tests/%.c
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D) && $(CC) $(BASE_CPPFLAGS) $(TEST_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(KVD_BIN): $(KVD_B)/b/kvd_main.o $(KVD_B_OBJ) $(KIT_B)/b/die.o
	$(call say,LD,$@)
	$(Q)$(CC) -o $@ $^ $(LDLIBS)

$(KVD_TESTS): $(KVD_TEST_OBJ) $(KVD_T_OBJ) $(TESTKIT_OBJ)
	$(call say,LD,$@)
	$(Q)$(CC) -o $@ $^ $(CRITERION_LIBS) $(LDLIBS)

.PHONY: kvd
kvd: $(KVD_BIN) $(KVD_TESTS) ## build kvd (build/kvd/kvd), the labs' key-value server, and its tests
	@ln -sfn $(abspath $(KVD_B)) build/kvd
