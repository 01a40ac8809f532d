global using Aurora.CommandLine;
