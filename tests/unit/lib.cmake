skiff_unit_test(format_test SOURCES ${SKIFF_ROOT}/tests/unit/format_test.cpp)
