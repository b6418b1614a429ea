// app/main.cpp: the pel executable.
#include "app/cli.hpp"

int main(int argc, char** argv) { return pel::app::main(argc, argv); }
