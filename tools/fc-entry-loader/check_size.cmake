# microvm only accepts a -bios file whose size is a multiple of 64 KiB; the
# loader's linker script makes it exactly 64 KiB.
file(SIZE ${FILE} actual)
if(NOT actual EQUAL SIZE)
  file(REMOVE ${FILE})
  message(FATAL_ERROR "${FILE} is ${actual} bytes, expected ${SIZE}")
endif()
