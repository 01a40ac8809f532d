global using Aurora.CommandLine;
global using Aurora.Posix;
