#if canImport(Glibc)
import Glibc
#endif
import RedisUV

// Everything lives in the library; this file only hands over the command line.
exit(RedisServerMain.run(arguments: Array(CommandLine.arguments.dropFirst())))
