module example.com/staticprog

go 1.26
