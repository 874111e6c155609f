// AssemblyInfo.cs: the test assembly may call the generated layer directly, to check that a
// closed or null SWIG proxy becomes an exception rather than a NULL passed into C.
[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("LolaTests")]
