/* `gbsim device ...`: the simulated GB28181 SIP device (test/sim/device*.c). main.c dispatches to it. */
#ifndef GB_SIM_DEVICE_H
#define GB_SIM_DEVICE_H

int sim_device_main(int argc, char **argv);

#endif
