// kstep-init: the PID-1 agent inside every kstep VM. All logic lives in the
// guest library (guest/init.cpp) so tests reach it; init_main never throws.
#include "guest/init.hpp"

int main() {
  return kstep::guest::init_main(kstep::guest::InitOptions{});
}
