module mapknee/benchsuite/go

go 1.19
