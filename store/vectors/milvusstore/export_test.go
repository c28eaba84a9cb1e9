package milvusstore

import (
	"context"

	"github.com/golang/protobuf/proto"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-sdk-go/v2/client"
	"github.com/milvus-io/milvus-sdk-go/v2/entity"
)

// CreateTestCollection creates a collection of another shape (an int64 key
// and a vector of dim components) for the schema check test.
func CreateTestCollection(ctx context.Context, addr, name string, dim int64) error {
	c, err := client.NewClient(ctx, client.Config{Address: addr})
	if err != nil {
		return err
	}
	defer c.Close()
	sch := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName(fieldEmbedding).WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	b, err := proto.Marshal(sch.ProtoMessage())
	if err != nil {
		return err
	}
	st, err := c.(*client.GrpcClient).Service.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{CollectionName: name, Schema: b, ShardsNum: 1})
	return check(ctx, st, err, "create test collection")
}

// DropTestCollection drops a collection.
func DropTestCollection(ctx context.Context, addr, name string) error {
	c, err := client.NewClient(ctx, client.Config{Address: addr})
	if err != nil {
		return err
	}
	defer c.Close()
	st, err := c.(*client.GrpcClient).Service.DropCollection(ctx, &milvuspb.DropCollectionRequest{CollectionName: name})
	return check(ctx, st, err, "drop test collection")
}
