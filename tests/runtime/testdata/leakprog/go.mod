module example.com/leakprog

go 1.26
